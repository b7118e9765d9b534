package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Config is the plugin's config block from the host configuration
// (plugin "NAME" { config = { ... } }), as JSON. It is immutable and safe for
// concurrent use.
type Config struct {
	// PluginName is the plugin's name in the host configuration.
	PluginName string
	raw        []byte
}

// NewConfig returns a Config holding raw (a JSON object, or empty for none),
// for calling hooks directly in tests.
func NewConfig(pluginName string, raw []byte) Config {
	return Config{PluginName: pluginName, raw: bytes.Clone(raw)}
}

// Empty reports whether no config block was given.
func (c Config) Empty() bool {
	raw := bytes.TrimSpace(c.raw)
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}

// JSON returns a copy of the config block's JSON; nil when [Config.Empty].
func (c Config) JSON() []byte {
	if c.Empty() {
		return nil
	}
	return bytes.Clone(c.raw)
}

// Decode decodes the config block into v (a pointer) with encoding/json.
// Unlike call arguments, decoding is strict: a key v does not have is an
// error, so a misspelt setting does not pass silently. Numbers in untyped
// places become json.Number. With no config block Decode leaves v as it is,
// so set defaults before calling it.
func (c Config) Decode(v any) error {
	if c.Empty() {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(c.raw))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode config: %w", err)
	}
	return nil
}
