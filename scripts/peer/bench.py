#!/usr/bin/env python3
"""PyTorch peer of `cyphertalk bench`: the project's `tiny` encoder written in PyTorch, timed on the same step kinds.

`cyphertalk bench --peer scripts/peer/bench.py` (and `make bench-peer`) runs this script once per round,
alternating with its own measurement, and divides the two. It needs python3 with torch (Debian:
`apt-get install python3-torch libopenblas0-pthread`); nothing else.

The model mirrors models/ (docs/design.md) for the preset given on the command line (default: tiny, d=128, 2 layers,
2 heads, FFN 512, T=64, batch 32, dropout 0.1, bert-base-uncased vocabulary of 30522):
  * embeddings: token table [V,d] + segment table [2,d] + position table [T,d], LayerNorm (eps 1e-12), dropout;
  * post-LN layers: multi-head self-attention (Q/K/V/output projections with biases, key-padding mask, no
    dropout on the attention probabilities, as gomlx's layers.MultiHeadAttention), dropout, residual, LayerNorm;
    FFN d→f, exact (erf) GELU, f→d, dropout, residual, LayerNorm;
  * [CLS] pooler tanh(Dense(h[:,0])); task head Dense(dropout(pooled)) → 2 labels; weighted mean cross-entropy;
  * AdamW (lr 2e-3, weight decay 0.01 on every parameter, betas 0.9/0.999, eps 1e-7 as gomlx's Adam) with
    global-norm gradient clipping at 1, the learning rate set before each step (models/finetune.DefaultConfig).
The parameter counts are asserted for tiny: 4,328,834 trainable with the token table, 422,018 with it frozen.

Step kinds (the names `cyphertalk bench` uses):
  finetune_trainable  one fine-tuning step, token table trained;
  finetune_frozen     the same with the table frozen: requires_grad False and not given to the optimizer;
  infer_b32, infer_b128  inference (eval mode, no autograd) on batches of 32 and 128, the logits read back;
  pretrain            the default pre-training recipe's step (models/pretrain): masked-LM on ceil(0.15·T) slots
                      per sequence (the first round(0.15·(T-2)) weighted), MLM transform Dense+GELU+LayerNorm,
                      output exp(log_scale)·h·Eᵀ + bias over the whole vocabulary tied to the frozen token table,
                      weighted mean cross-entropy, plus the sentence-pair loss of Dense(pooled) → 2; AdamW lr 1e-3,
                      weight decay 0.01, clipping at 1.
Differences from the Go side, none of which changes what is computed: PyTorch builds the backward pass per step
(eager autograd) where gomlx compiles one graph; dropout masks come from PyTorch's RNG; the attention logits are
scaled by 1/head_dim (gomlx scales the query and the logits by 1/√head_dim each; kept so both compute the same
function); the masked-LM cross-entropy is PyTorch's fused F.cross_entropy (log-softmax) where the Go graph takes
the log-sum-exp of the logits minus the target's logit gathered apart (the same value; the fused form is PyTorch's
usual and faster one: the peer should be PyTorch at its best); inputs are random full-length sequences on both
sides instead of tokenised text.

Timing: each kind runs --warmup untimed steps then --steps timed ones, each timed alone; step_s is the median,
mean_step_s the mean, ex_per_s batch/step_s. Threads: --threads N, or auto (default) which times a few
fine-tuning steps at 1 and 2 threads and keeps the faster (reported in the info line's thread_probe).

Output (stdout): JSON lines, {"type": "info", ...} first, then {"type": "result", "kind": ..., ...} per kind.
"""

import argparse
import json
import math
import platform
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError:  # pragma: no cover - reported to the Go side
    sys.stderr.write("scripts/peer/bench.py needs PyTorch: install python3-torch (Debian: "
                     "apt-get install python3-torch libopenblas0-pthread) or `pip install torch`\n")
    sys.exit(3)

KINDS = ["finetune_trainable", "finetune_frozen", "infer_b32", "infer_b128", "pretrain"]
TINY = dict(vocab=30522, hidden=128, layers=2, heads=2, ffn=512, seq=64, batch=32, dropout=0.1)
TINY_PARAMS = (4328834, 422018)
FIRST_REGULAR_ID = 999  # ids below are [PAD], [unused*] and the special tokens in bert-base-uncased
EPS = 1e-12


class Layer(nn.Module):
    def __init__(self, d, heads, ffn, p):
        super().__init__()
        self.heads, self.hd, self.p = heads, d // heads, p
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.att_norm = nn.LayerNorm(d, eps=EPS)
        self.ffn_in, self.ffn_out = nn.Linear(d, ffn), nn.Linear(ffn, d)
        self.ffn_norm = nn.LayerNorm(d, eps=EPS)

    def forward(self, x, key_bias):
        B, T, d = x.shape
        split = lambda t: t.view(B, T, self.heads, self.hd).transpose(1, 2)  # [B,H,T,hd]
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / self.hd) + key_bias  # [B,H,T,T]
        ctx = torch.matmul(torch.softmax(scores, -1), v).transpose(1, 2).reshape(B, T, d)
        x = self.att_norm(x + F.dropout(self.o(ctx), self.p, self.training))
        h = self.ffn_out(F.gelu(self.ffn_in(x)))  # exact (erf) GELU
        return self.ffn_norm(x + F.dropout(h, self.p, self.training))


class Encoder(nn.Module):
    def __init__(self, vocab, hidden, layers, heads, ffn, seq, dropout, pretrain=False):
        super().__init__()
        self.p = dropout
        self.token = nn.Parameter(torch.randn(vocab, hidden) * 0.02)
        self.position = nn.Parameter(torch.randn(seq, hidden) * 0.02)
        self.segment = nn.Parameter(torch.randn(2, hidden) * 0.02)
        self.emb_norm = nn.LayerNorm(hidden, eps=EPS)
        self.layers = nn.ModuleList(Layer(hidden, heads, ffn, dropout) for _ in range(layers))
        self.pooler = nn.Linear(hidden, hidden)
        if pretrain:
            self.mlm_transform = nn.Linear(hidden, hidden)
            self.mlm_norm = nn.LayerNorm(hidden, eps=EPS)
            self.mlm_bias = nn.Parameter(torch.zeros(vocab))
            self.mlm_log_scale = nn.Parameter(torch.zeros(()))
            self.pair_head = nn.Linear(hidden, 2)
        else:
            self.task_head = nn.Linear(hidden, 2)

    def encode(self, ids, seg, mask):
        T = ids.shape[1]
        x = F.embedding(ids, self.token) + F.embedding(seg, self.segment) + self.position[:T]
        x = F.dropout(self.emb_norm(x), self.p, self.training)
        key_bias = ((1.0 - mask.to(x.dtype)) * -1e9)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, key_bias)
        return x

    def pool(self, hidden):
        return torch.tanh(self.pooler(hidden[:, 0]))

    def logits(self, ids, seg, mask):
        pooled = self.pool(self.encode(ids, seg, mask))
        return self.task_head(F.dropout(pooled, self.p, self.training))

    def task_loss(self, ids, seg, mask, labels, weights):
        per = F.cross_entropy(self.logits(ids, seg, mask), labels, reduction="none")
        return (per * weights).sum() / weights.sum().clamp(min=1)

    def pretrain_loss(self, ids, seg, mask, positions, targets, weights, is_next, pair_w):
        hidden = self.encode(ids, seg, mask)
        B, T, d = hidden.shape
        flat = (positions + torch.arange(B)[:, None] * T).reshape(-1)
        h = self.mlm_norm(F.gelu(self.mlm_transform(hidden.reshape(B * T, d)[flat])))  # [B·P,d]
        scale = torch.exp(self.mlm_log_scale)
        logits = torch.matmul(h, self.token.t()) * scale + self.mlm_bias  # [B·P,V]
        w = weights.reshape(-1)
        ce = F.cross_entropy(logits, targets.reshape(-1), reduction="none")  # = log-sum-exp − target logit
        mlm = (ce * w).sum() / w.sum().clamp(min=1)
        pair_ce = F.cross_entropy(self.pair_head(self.pool(hidden)), is_next, reduction="none")
        pair = (pair_ce * pair_w).sum() / pair_w.sum().clamp(min=1)
        return mlm + pair, mlm


def trainable_count(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def random_batch(g, n, shape, vocab):
    ids = torch.randint(FIRST_REGULAR_ID, vocab, (n, shape["seq"]), generator=g)
    seg = torch.zeros_like(ids)
    mask = torch.ones_like(ids)
    labels = torch.arange(n) % 2
    return ids, seg, mask, labels, torch.ones(n)


def random_pretrain_batch(g, shape, vocab, mask_prob=0.15):
    """A batch shaped like models/bench.RandomPretrainBatch (and the Go sampler's)."""
    B, T = shape["batch"], shape["seq"]
    P = math.ceil(mask_prob * T)
    k = min(P, int(mask_prob * (T - 2) + 0.5))
    ids = torch.randint(FIRST_REGULAR_ID, vocab, (B, T), generator=g)
    seg = (torch.arange(T) * 2 // T).clamp(max=1).expand(B, T).contiguous()
    mask = torch.ones_like(ids)
    positions = torch.stack([1 + torch.randperm(T - 2, generator=g)[:P] for _ in range(B)])
    targets = torch.randint(FIRST_REGULAR_ID, vocab, (B, P), generator=g)
    weights = (torch.arange(P) < k).float().expand(B, P).contiguous()
    is_next = torch.randint(0, 2, (B,), generator=g)
    return ids, seg, mask, positions, targets, weights, is_next, torch.ones(B)


def make_step(kind, shape, seed):
    """Returns (step function, batch size, trainable parameter count) for one kind on a fresh model."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    vocab = shape["vocab"]
    model_shape = {k: shape[k] for k in ("vocab", "hidden", "layers", "heads", "ffn", "seq", "dropout")}
    if kind in ("finetune_trainable", "finetune_frozen"):
        model = Encoder(**model_shape)
        model.token.requires_grad_(kind == "finetune_trainable")
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-7, weight_decay=0.01)
        batch = random_batch(g, shape["batch"], shape, vocab)
        model.train()

        def step():
            for group in opt.param_groups:
                group["lr"] = 2e-3
            opt.zero_grad(set_to_none=True)
            loss = model.task_loss(*batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            return loss.item()

        return step, shape["batch"], trainable_count(model)
    if kind in ("infer_b32", "infer_b128"):
        n = 32 if kind == "infer_b32" else 128
        model = Encoder(**model_shape).eval()
        ids, seg, mask, _, _ = random_batch(g, n, shape, vocab)

        def step():
            with torch.inference_mode():
                return model.logits(ids, seg, mask).numpy().copy()

        return step, n, trainable_count(model)
    if kind == "pretrain":
        model = Encoder(**model_shape, pretrain=True)
        model.token.requires_grad_(False)  # the default recipe freezes the token table
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-7, weight_decay=0.01)
        batch = random_pretrain_batch(g, shape, vocab)
        model.train()

        def step():
            for group in opt.param_groups:
                group["lr"] = 1e-3
            opt.zero_grad(set_to_none=True)
            loss, mlm = model.pretrain_loss(*batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            return mlm.item()

        return step, shape["batch"], trainable_count(model)
    raise ValueError(f"unknown kind {kind!r} (valid: {', '.join(KINDS)})")


def time_steps(step, warmup, steps):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def param_counts(shape):
    model = Encoder(**{k: shape[k] for k in ("vocab", "hidden", "layers", "heads", "ffn", "seq", "dropout")})
    trainable = trainable_count(model)
    model.token.requires_grad_(False)
    return trainable, trainable_count(model)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kinds", default="all", help="comma-separated step kinds or 'all' (%s)" % ", ".join(KINDS))
    ap.add_argument("--steps", type=int, default=10, help="timed steps per kind")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps before each kind's timed ones")
    ap.add_argument("--threads", default="auto", help="torch threads: a number, or auto (time 1 and 2, keep the faster)")
    ap.add_argument("--seed", type=int, default=1)
    for k, v in TINY.items():
        ap.add_argument("--" + k, type=type(v), default=v, help=f"model shape (default: tiny's {v})")
    a = ap.parse_args(argv)
    kinds = KINDS if a.kinds == "all" else [k.strip() for k in a.kinds.split(",") if k.strip()]
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        ap.error(f"unknown kind(s) {bad} (valid: all, {', '.join(KINDS)})")
    if a.steps <= 0 or a.warmup < 0:
        ap.error("--steps must be positive and --warmup not negative")
    shape = {k: getattr(a, k) for k in TINY}

    trainable, frozen = param_counts(shape)
    if shape == TINY and (trainable, frozen) != TINY_PARAMS:
        sys.exit(f"tiny model has {trainable} trainable parameters ({frozen} with the table frozen), "
                 f"the Go model {TINY_PARAMS[0]} ({TINY_PARAMS[1]}): the peer no longer mirrors it")
    sys.stderr.write(f"peer parameters: {trainable} with the token table trainable, {frozen} frozen\n")

    torch.set_num_interop_threads(1)
    probe = {}
    if a.threads == "auto":
        for n in (1, 2):
            torch.set_num_threads(n)
            step, _, _ = make_step("finetune_frozen", shape, a.seed)
            probe[str(n)] = statistics.median(time_steps(step, 2, 3))
        threads = int(min(probe, key=probe.get))
    else:
        try:
            threads = int(a.threads)
        except ValueError:
            ap.error(f"--threads {a.threads!r} is neither a number nor auto")
    torch.set_num_threads(threads)
    emit = lambda obj: print(json.dumps(obj), flush=True)
    emit({"type": "info", "torch": torch.__version__, "python": platform.python_version(), "threads": threads,
          "thread_probe": probe, "params_trainable": trainable, "params_frozen": frozen})
    for kind in kinds:
        step, batch, params = make_step(kind, shape, a.seed)
        times = time_steps(step, a.warmup, a.steps)
        med = statistics.median(times)
        emit({"type": "result", "kind": kind, "batch": batch, "steps": a.steps, "step_s": med,
              "mean_step_s": statistics.fmean(times), "ex_per_s": batch / med, "params": params, "threads": threads})


if __name__ == "__main__":
    main()
