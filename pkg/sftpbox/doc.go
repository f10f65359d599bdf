// Package sftpbox is a trading partner's SFTP mailbox: folders polled for inbound files, atomic
// outbound writes (a temporary name, then a rename, so the partner never picks up half a file),
// archive and quarantine folders, key-based login and a pinned host key (an unknown or changed
// server key is refused before any credential is offered). Server is an in-process SFTP server
// confined to one directory, for sandboxes and tests. Built on golang.org/x/crypto/ssh and
// github.com/pkg/sftp.
package sftpbox
