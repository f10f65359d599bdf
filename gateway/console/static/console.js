// Retailbridge console: the only script, and everything works without it. It marks the
// current page in the navigation for assistive technology.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("nav a").forEach(function (a) {
    if (a.getAttribute("href") === window.location.pathname) {
      a.setAttribute("aria-current", "page");
    }
  });
});
