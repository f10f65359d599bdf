package wms

import "time"

// EDI3PLFromEnv reads the EDI 3PL's SFTP mailbox through lookup: EDI3PL_SFTP_ADDR,
// EDI3PL_SFTP_USER, the secret EDI3PL_SFTP_PRIVATE_KEY (OpenSSH PEM, or that PEM in base64 on
// one line), EDI3PL_SFTP_HOST_KEY (the pinned authorized_keys line), the folders
// EDI3PL_OUTBOUND_DIR, EDI3PL_INBOUND_DIR, EDI3PL_ARCHIVE_DIR and EDI3PL_QUARANTINE_DIR (the
// sandbox's by default), EDI3PL_SENDER_ID, EDI3PL_RECEIVER_ID, EDI3PL_LOCATION_ID and
// EDI3PL_POLL_INTERVAL, and EDI3PL_REQUEST_TA1 (true: our interchanges ask for TA1s). Validate
// checks the result.
func EDI3PLFromEnv(lookup func(string) string) EDI3PLConfig {
	or := func(name, def string) string {
		if v := lookup(name); v != "" {
			return v
		}
		return def
	}
	return EDI3PLConfig{Addr: lookup("EDI3PL_SFTP_ADDR"), User: or("EDI3PL_SFTP_USER", "retailbridge"),
		PrivateKey: keyPEM(lookup("EDI3PL_SFTP_PRIVATE_KEY")), HostKey: lookup("EDI3PL_SFTP_HOST_KEY"),
		Outbound: or("EDI3PL_OUTBOUND_DIR", "/to-3pl"), Inbound: or("EDI3PL_INBOUND_DIR", "/from-3pl"),
		Archive: or("EDI3PL_ARCHIVE_DIR", "/archive"), Quarantine: or("EDI3PL_QUARANTINE_DIR", "/quarantine"),
		SenderID: or("EDI3PL_SENDER_ID", "RETAILBRIDGE"), ReceiverID: or("EDI3PL_RECEIVER_ID", "ACME3PL"),
		LocationID: or("EDI3PL_LOCATION_ID", "dc-east"), PollInterval: pollInterval(lookup("EDI3PL_POLL_INTERVAL")),
		AckRequested: lookup("EDI3PL_REQUEST_TA1") == "true"}
}

// keyPEM reads the private key as PEM or base64-encoded PEM; one that is neither is kept as
// given, for Validate and the connector to refuse.
func keyPEM(v string) string {
	if b, err := privateKeyPEM(v); err == nil {
		return string(b)
	}
	return v
}

// pollInterval reads EDI3PL_POLL_INTERVAL; checkEDI3PLEnv reports a value that does not parse,
// and an unset or bad one takes the default.
func pollInterval(v string) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0
	}
	return d
}
