package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

// channelFile is the channel configuration file's shape.
type channelFile struct {
	Channels map[string]Channel `yaml:"channels"`
}

// ParseChannels reads a channel configuration file (configs/inventory-channels.yaml); unknown
// keys are refused, so a misspelt setting never silently sells from everywhere.
func ParseChannels(data []byte) (map[string]Channel, error) {
	var f channelFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("inventory channels: %w", err)
	}
	if err := (Config{Channels: f.Channels}).withDefaults().Validate(); err != nil {
		return nil, err
	}
	return f.Channels, nil
}

// LoadChannels reads the channel configuration file at path.
func LoadChannels(path string) (map[string]Channel, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("inventory channels: %w", err)
	}
	return ParseChannels(data)
}
