package ckks

import (
	"fmt"

	"github.com/tuneinsight/lattigo/v6/core/rlwe"
	"github.com/tuneinsight/lattigo/v6/schemes/ckks"
)

// client is the data owner: it alone holds the secret key; it encrypts, decrypts, and evaluates in the clear
// what the cloud hands back for a round trip.
type client struct {
	params ckks.Parameters
	layout Layout
	sk     *rlwe.SecretKey
	ecd    *ckks.Encoder
	enc    *rlwe.Encryptor
	dec    *rlwe.Decryptor
}

func newClient(params ckks.Parameters, layout Layout) *client {
	sk := rlwe.NewKeyGenerator(params).GenSecretKeyNew()
	enc := rlwe.NewEncryptor(params, sk)
	return &client{params: params, layout: layout, sk: sk, ecd: ckks.NewEncoder(params), enc: enc, dec: rlwe.NewDecryptor(params, sk)}
}

// evaluationKeys generates the relinearisation key and one Galois key per rotation, and hands each to send
// (which serialises it for the cloud) as soon as it exists, so that the client never holds all of them.
func (cl *client) evaluationKeys(rotations []int, send func(key interface{ MarshalBinary() ([]byte, error) }) error) error {
	kgen := rlwe.NewKeyGenerator(cl.params)
	if err := send(kgen.GenRelinearizationKeyNew(cl.sk)); err != nil {
		return fmt.Errorf("relinearisation key: %w", err)
	}
	for _, r := range rotations {
		if err := send(kgen.GenGaloisKeyNew(cl.params.GaloisElement(r), cl.sk)); err != nil {
			return fmt.Errorf("galois key for rotation %d: %w", r, err)
		}
	}
	return nil
}

// encrypt encodes slot vectors at the top level with the default scale and encrypts them.
func (cl *client) encrypt(vs [][]float64) ([]*rlwe.Ciphertext, error) {
	out := make([]*rlwe.Ciphertext, len(vs))
	for k, v := range vs {
		pt := ckks.NewPlaintext(cl.params, cl.params.MaxLevel())
		if err := cl.ecd.Encode(v, pt); err != nil {
			return nil, fmt.Errorf("encode: %w", err)
		}
		ct, err := cl.enc.EncryptNew(pt)
		if err != nil {
			return nil, fmt.Errorf("encrypt: %w", err)
		}
		out[k] = ct
	}
	return out, nil
}

// decrypt returns the slot vectors of ciphertexts.
func (cl *client) decrypt(cts []*rlwe.Ciphertext) ([][]float64, error) {
	out := make([][]float64, len(cts))
	for k, ct := range cts {
		out[k] = make([]float64, cl.layout.Slots)
		if err := cl.ecd.Decode(cl.dec.DecryptNew(ct), out[k]); err != nil {
			return nil, fmt.Errorf("decode: %w", err)
		}
	}
	return out, nil
}

// transfer serialises ciphertexts as the sender would put them on the wire and deserialises them as the
// receiver would, returning the copies and the number of bytes sent.
func transfer(cts []*rlwe.Ciphertext) ([]*rlwe.Ciphertext, int64, error) {
	out := make([]*rlwe.Ciphertext, len(cts))
	var n int64
	for k, ct := range cts {
		b, err := ct.MarshalBinary()
		if err != nil {
			return nil, 0, fmt.Errorf("marshal ciphertext: %w", err)
		}
		n += int64(len(b))
		out[k] = new(rlwe.Ciphertext)
		if err := out[k].UnmarshalBinary(b); err != nil {
			return nil, 0, fmt.Errorf("unmarshal ciphertext: %w", err)
		}
	}
	return out, n, nil
}
