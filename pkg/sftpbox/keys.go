package sftpbox

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// KeyPair is an SSH key: the private key as OpenSSH PEM, and the public key as one
// authorized_keys line ("ssh-ed25519 AAAA…").
type KeyPair struct {
	PrivatePEM []byte
	Public     string
}

// GenerateKey makes an Ed25519 key pair, for sandboxes and tests (and a partner's first key).
func GenerateKey() (KeyPair, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return KeyPair{}, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return KeyPair{}, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{PrivatePEM: pem.EncodeToMemory(block), Public: string(ssh.MarshalAuthorizedKey(sshPub))}, nil
}

// ParsePublicKey reads one authorized_keys line.
func ParsePublicKey(line string) (ssh.PublicKey, error) {
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return nil, fmt.Errorf("sftpbox: public key: %w", err)
	}
	return k, nil
}

// PublicOf returns the authorized_keys line of a private key (OpenSSH PEM).
func PublicOf(privatePEM []byte) (string, error) {
	s, err := ssh.ParsePrivateKey(privatePEM)
	if err != nil {
		return "", fmt.Errorf("sftpbox: private key: %w", err)
	}
	return string(ssh.MarshalAuthorizedKey(s.PublicKey())), nil
}
