// Package productfeed is the flat-file exchange of the product master: an ERP or partner export
// drops CSV files (RFC 4180, header row required) into an SFTP inbound folder; Exchange polls it,
// applies each file's valid rows to the item master in the process store, records the file by
// name and content hash (a re-sent identical file changes nothing, a changed file with the same
// name is a new version), writes a rejected-rows report per file to the outbound folder, archives
// processed files and quarantines unreadable ones. Handler serves the item master and the
// reports for support. See docs/flat-files.md.
package productfeed
