#!/usr/bin/env python3
"""Parity fixture for models/hf: a small random BERT checkpoint and its outputs from an independent PyTorch forward.

    python3 scripts/peer/hf_parity.py [OUT_DIR]        # default: models/hf/testdata

needs python3 with torch (Debian: `apt-get install python3-torch`); the transformers library is not used. It
writes, deterministically from a fixed seed:
  OUT_DIR/parity/config.json, OUT_DIR/parity/model.safetensors  a BertForMaskedLM-named checkpoint (prefix
      "bert.", cls.predictions.*) with a pooler and a 3-label classifier: L-2/H-32/A-2/FFN-64, 48 positions and
      a made-up vocabulary of 100 ids (no vocab.txt: the Go test imports it without the vocabulary check);
  OUT_DIR/parity_expected.json  the inputs (ids, segments, attention mask of 3 sequences of 12 tokens, one of
      them padded) and the outputs: the sequence output [B,T,d], the pooler output [B,d], the masked-LM logits
      [B,T,V] and the classifier logits [B,3], flattened row-major.

The forward is written from Hugging Face's BertForMaskedLM / BertForSequenceClassification semantics (eval mode,
no dropout), in float64 from the float32 weights:
  embeddings = LayerNorm(word[ids] + position[0..T) + token_type[segments]), eps 1e-12;
  per layer: q, k, v = x·Wᵀ + b split into heads; scores = q·kᵀ/√head_dim + (1 - mask)·min_float over the keys;
  softmax; context·W_oᵀ + b_o; LayerNorm(x + attention); LayerNorm(h + (GELU_erf(h·W_iᵀ + b_i)·W_oᵀ + b_o));
  pooler = tanh(h[:,0]·Wᵀ + b); MLM = LayerNorm(GELU_erf(h·Wᵀ + b))·word_embeddingsᵀ + cls.predictions.bias;
  classifier = pooler·Wᵀ + b.
The weights are drawn larger than BERT's initialisation (std 0.2 to 0.5) so that attention is far from uniform
and a wrong attention scale, a transposed kernel or a swapped LayerNorm parameter moves the outputs well beyond
the Go test's 1e-4 tolerance.
"""
import json
import math
import os
import struct
import sys

import torch

L, D, A, FFN, V, POS, LABELS = 2, 32, 2, 64, 100, 48, 3
B, T = 3, 12
SEED = 20240611


def draw(gen, shape, std, mean=0.0):
    return (torch.randn(*shape, generator=gen, dtype=torch.float64) * std + mean).to(torch.float32)


def checkpoint():
    g = torch.Generator().manual_seed(SEED)
    w = {}

    def linear(name, out_dim, in_dim):
        w[name + ".weight"] = draw(g, (out_dim, in_dim), 0.25)
        w[name + ".bias"] = draw(g, (out_dim,), 0.1)

    def layer_norm(name):
        w[name + ".weight"] = draw(g, (D,), 0.2, 1.0)
        w[name + ".bias"] = draw(g, (D,), 0.1)

    w["bert.embeddings.word_embeddings.weight"] = draw(g, (V, D), 0.5)
    w["bert.embeddings.position_embeddings.weight"] = draw(g, (POS, D), 0.3)
    w["bert.embeddings.token_type_embeddings.weight"] = draw(g, (2, D), 0.3)
    layer_norm("bert.embeddings.LayerNorm")
    for l in range(L):
        p = f"bert.encoder.layer.{l}."
        for proj in ("query", "key", "value"):
            linear(p + "attention.self." + proj, D, D)
        linear(p + "attention.output.dense", D, D)
        layer_norm(p + "attention.output.LayerNorm")
        linear(p + "intermediate.dense", FFN, D)
        linear(p + "output.dense", D, FFN)
        layer_norm(p + "output.LayerNorm")
    linear("bert.pooler.dense", D, D)
    linear("cls.predictions.transform.dense", D, D)
    layer_norm("cls.predictions.transform.LayerNorm")
    w["cls.predictions.bias"] = draw(g, (V,), 0.1)
    linear("classifier", LABELS, D)
    return w


def inputs():
    g = torch.Generator().manual_seed(SEED + 1)
    ids = torch.randint(5, V, (B, T), generator=g)
    ids[:, 0] = 2  # a [CLS]-like id at position 0
    segments = torch.zeros(B, T, dtype=torch.long)
    segments[0, 6:] = 1
    segments[2, 4:] = 1
    mask = torch.ones(B, T, dtype=torch.long)
    mask[1, 8:] = 0  # padded tail
    ids[1, 8:] = 0
    return ids, segments, mask


def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def layer_norm(x, gain, bias, eps=1e-12):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * gain + bias


def forward(w, ids, segments, mask):
    p = {k: v.to(torch.float64) for k, v in w.items()}

    def lin(name, x):
        return x @ p[name + ".weight"].T + p[name + ".bias"]

    def ln(name, x):
        return layer_norm(x, p[name + ".weight"], p[name + ".bias"])

    hd = D // A
    x = p["bert.embeddings.word_embeddings.weight"][ids] + p["bert.embeddings.position_embeddings.weight"][:T][None] \
        + p["bert.embeddings.token_type_embeddings.weight"][segments]
    x = ln("bert.embeddings.LayerNorm", x)
    additive = (1.0 - mask.to(torch.float64))[:, None, None, :] * torch.finfo(torch.float64).min
    for l in range(L):
        pre = f"bert.encoder.layer.{l}."

        def heads(t):
            return t.view(B, T, A, hd).permute(0, 2, 1, 3)  # [B,A,T,hd]

        q = heads(lin(pre + "attention.self.query", x))
        k = heads(lin(pre + "attention.self.key", x))
        v = heads(lin(pre + "attention.self.value", x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd) + additive
        ctx = (torch.softmax(scores, -1) @ v).permute(0, 2, 1, 3).reshape(B, T, D)
        x = ln(pre + "attention.output.LayerNorm", x + lin(pre + "attention.output.dense", ctx))
        h = gelu(lin(pre + "intermediate.dense", x))
        x = ln(pre + "output.LayerNorm", x + lin(pre + "output.dense", h))
    pooled = torch.tanh(lin("bert.pooler.dense", x[:, 0]))
    t = ln("cls.predictions.transform.LayerNorm", gelu(lin("cls.predictions.transform.dense", x)))
    mlm = t @ p["bert.embeddings.word_embeddings.weight"].T + p["cls.predictions.bias"]
    cls = lin("classifier", pooled)
    return x, pooled, mlm, cls


def write_safetensors(path, tensors):
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        blob = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def flat(t):
    return [float(x) for x in t.reshape(-1).tolist()]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "models", "hf", "testdata")
    ckpt_dir = os.path.join(out, "parity")
    os.makedirs(ckpt_dir, exist_ok=True)
    w = checkpoint()
    config = {"architectures": ["BertForMaskedLM"], "model_type": "bert", "vocab_size": V, "hidden_size": D,
              "num_hidden_layers": L, "num_attention_heads": A, "intermediate_size": FFN, "hidden_act": "gelu",
              "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "max_position_embeddings": POS,
              "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
              "position_embedding_type": "absolute", "num_labels": LABELS}
    with open(os.path.join(ckpt_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(ckpt_dir, "model.safetensors"), w)
    ids, segments, mask = inputs()
    with torch.no_grad():
        seq, pooled, mlm, cls = forward(w, ids, segments, mask)
    expected = {"batch": B, "seq_len": T, "hidden": D, "vocab": V, "labels": LABELS,
                "ids": ids.reshape(-1).tolist(), "segments": segments.reshape(-1).tolist(), "mask": mask.reshape(-1).tolist(),
                "sequence_output": flat(seq), "pooler_output": flat(pooled), "mlm_logits": flat(mlm),
                "classifier_logits": flat(cls)}
    with open(os.path.join(out, "parity_expected.json"), "w") as f:
        json.dump(expected, f)
        f.write("\n")
    print(f"wrote {ckpt_dir} and {os.path.join(out, 'parity_expected.json')}")


if __name__ == "__main__":
    main()
