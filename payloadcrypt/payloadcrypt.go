// Package payloadcrypt encrypts every Temporal payload Homeward writes, so
// the Temporal server (its database, its web UI, anyone reading histories)
// holds only ciphertext: a child's name, contact details and story are
// readable only by processes holding the keys.
//
// Each payload is encrypted with AES-256-GCM under the key ring's current
// key, with a fresh random 12-byte nonce. The ciphertext carries the whole
// original payload (metadata and data, proto-marshalled); the encrypted
// payload's metadata says only `encoding: binary/encrypted` and
// `encryption-key-id: <id>`. Decoding looks the key up by that id, so keys
// rotate by adding a new key and making it current while the old ones stay
// in the ring to decrypt what was written under them.
//
// Payloads that are not `binary/encrypted` pass through Decode unchanged:
// histories written before encryption was turned on keep working.
package payloadcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

const (
	// MetadataEncoding is the metadata key naming a payload's encoding.
	MetadataEncoding = converter.MetadataEncoding
	// EncodingEncrypted is the encoding of an encrypted payload.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID is the metadata key naming the key that encrypted a payload.
	MetadataKeyID = "encryption-key-id"

	nonceSize = 12
)

// Codec is a converter.PayloadCodec that encrypts with a KeyRing.
type Codec struct {
	ring *KeyRing
}

var _ converter.PayloadCodec = (*Codec)(nil)

// NewCodec returns a codec encrypting with ring's current key.
func NewCodec(ring *KeyRing) *Codec { return &Codec{ring: ring} }

// Encode encrypts every payload with the current key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	id := c.ring.Current()
	aead, err := c.ring.aead(id)
	if err != nil {
		return nil, err
	}
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("payloadcrypt: marshal payload: %w", err)
		}
		nonce := make([]byte, nonceSize, nonceSize+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("payloadcrypt: nonce: %w", err)
		}
		// The key id is authenticated too: a payload relabelled with another
		// key's id fails to decrypt rather than decrypting under the wrong one.
		sealed := aead.Seal(nonce, nonce, plain, []byte(id))
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:    []byte(id),
			},
			Data: sealed,
		}
	}
	return out, nil
}

// Decode decrypts encrypted payloads with the key their metadata names and
// passes any other payload through unchanged.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if p == nil || string(p.GetMetadata()[MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		if id == "" {
			return nil, errors.New("payloadcrypt: encrypted payload names no encryption-key-id")
		}
		aead, err := c.ring.aead(id)
		if err != nil {
			return nil, err
		}
		data := p.GetData()
		if len(data) < nonceSize+aead.Overhead() {
			return nil, fmt.Errorf("payloadcrypt: encrypted payload (key %q) is too short", id)
		}
		plain, err := aead.Open(nil, data[:nonceSize], data[nonceSize:], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("payloadcrypt: payload encrypted with key %q does not decrypt: it was altered or the key %q in the ring is not the one that encrypted it", id, id)
		}
		var orig commonpb.Payload
		if err := proto.Unmarshal(plain, &orig); err != nil {
			return nil, fmt.Errorf("payloadcrypt: decrypted payload (key %q) is not a payload: %w", id, err)
		}
		out[i] = &orig
	}
	return out, nil
}

// Converters are the data and failure converters a Temporal client (and so
// its workers) should use: payloads go through the default converter and
// then the codec, and failures have their message and stack trace moved
// into an encrypted payload (EncodeCommonAttributes), so an error text
// carrying data is not stored in the clear either.
func Converters(ring *KeyRing) (converter.DataConverter, converter.FailureConverter) {
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), NewCodec(ring))
	fc := temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
	return dc, fc
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
