"""A BERT sentence encoder in numpy (no torch): all-MiniLM-L6-v2 from its safetensors weights.

Loads a sentence-transformers model folder — `config.json`, `model.safetensors`, `tokenizer.json`
and, when present, `sentence_bert_config.json` (max sequence length) — and computes mean-pooled,
L2-normalized sentence embeddings, the same as sentence-transformers does for this model: texts are
truncated to `max_seq_length` tokens (256 for all-MiniLM-L6-v2, [CLS] and [SEP] included), as
sentence-transformers truncates them. Only local files are read: nothing is downloaded.

Speed (see `python -m bench embedding`): everything stays float32; each layer's query, key and value
projections are one fused matrix product over the whole batch (the weights are transposed, fused and
the attention scale folded into the query once, at load); texts are sorted by token count and batched
with their neighbours, so a batch is padded only to the longest of similar texts, never a short text
to a long one's length; and batches hold up to `batch_tokens` tokens, so short texts (the postings'
title, skills and location) go through in large matrix products. numpy's BLAS uses its own threads
for the products.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_SQRT_HALF = math.sqrt(0.5)
_GELU_ROWS = 64  # 64 × 1536 float32 = 384 KiB a temporary


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis of a 2-D float32 array, in place."""
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x)[:, None]
    var /= x.shape[-1]
    var += eps
    np.sqrt(var, out=var)
    x /= var
    x *= weight
    x += bias
    return x


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, in place: 0.5·x·(1 + erf(x/√2)).

    erf by Abramowitz & Stegun 7.1.26 (max error 1.5e-7): numpy has no erf and scipy is not a
    dependency. Worked through in slices of rows that stay in the CPU cache.
    """
    for start in range(0, x.shape[0], _GELU_ROWS):
        _gelu_slice(x[start:start + _GELU_ROWS])
    return x


def _gelu_slice(x: np.ndarray) -> None:
    z = np.abs(x)
    z *= _SQRT_HALF
    t = z * 0.3275911
    t += 1.0
    np.reciprocal(t, out=t)
    p = t * 1.061405429
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        p += c
        p *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    p *= z  # 1 - erf(|z|)
    np.subtract(1.0, p, out=p)
    np.copysign(p, x, out=p)  # erf(z)
    p += 1.0
    p *= 0.5
    x *= p


@dataclass(frozen=True)
class _Layer:
    qkv: np.ndarray  # (hidden, 3·hidden): query (pre-scaled by 1/√head_dim), key, value
    qkv_bias: np.ndarray
    out: np.ndarray  # (hidden, hidden)
    out_bias: np.ndarray
    norm1: tuple[np.ndarray, np.ndarray]
    up: np.ndarray  # (hidden, intermediate)
    up_bias: np.ndarray
    down: np.ndarray  # (intermediate, hidden)
    down_bias: np.ndarray
    norm2: tuple[np.ndarray, np.ndarray]


class SentenceEncoder:
    """`encode(texts) -> float32 array (n, dimension)`, rows of unit length.

    `batch_size` caps the texts in one forward pass and `batch_tokens` its padded tokens (texts × the
    longest one's token count); a text longer than `batch_tokens` still goes through, alone.
    """

    def __init__(self, folder: str | Path, *, batch_size: int = 256, batch_tokens: int = 4096) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        self.dimension: int = config["hidden_size"]
        self.heads: int = config["num_attention_heads"]
        self.layers: int = config["num_hidden_layers"]
        self.eps: float = config.get("layer_norm_eps", 1e-12)
        self.pad_id: int = config.get("pad_token_id", 0)
        max_length = config.get("max_position_embeddings", 512)
        st_config = folder / "sentence_bert_config.json"
        if st_config.is_file():
            max_length = min(max_length, json.loads(st_config.read_text()).get("max_seq_length", max_length))
        self.max_length: int = max_length
        self.batch_size = batch_size
        self.batch_tokens = batch_tokens
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()  # batches are padded here, each to its own longest text
        self.tokenizer.enable_truncation(max_length=max_length)

        w = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in load_file(str(folder / "model.safetensors")).items()
             if not k.endswith("position_ids")}
        self._word = w["embeddings.word_embeddings.weight"]
        self._position = w["embeddings.position_embeddings.weight"]
        self._token_type = w["embeddings.token_type_embeddings.weight"]
        self._embedding_norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        scale = np.float32(1.0 / math.sqrt(self.dimension // self.heads))

        def t(name: str) -> np.ndarray:
            return np.ascontiguousarray(w[f"{name}.weight"].T)

        self._layers: list[_Layer] = []
        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            a = f"{p}.attention.self"
            self._layers.append(_Layer(
                qkv=np.ascontiguousarray(np.concatenate(
                    [w[f"{a}.query.weight"] * scale, w[f"{a}.key.weight"], w[f"{a}.value.weight"]]).T),
                qkv_bias=np.concatenate([w[f"{a}.query.bias"] * scale, w[f"{a}.key.bias"], w[f"{a}.value.bias"]]),
                out=t(f"{p}.attention.output.dense"), out_bias=w[f"{p}.attention.output.dense.bias"],
                norm1=(w[f"{p}.attention.output.LayerNorm.weight"], w[f"{p}.attention.output.LayerNorm.bias"]),
                up=t(f"{p}.intermediate.dense"), up_bias=w[f"{p}.intermediate.dense.bias"],
                down=t(f"{p}.output.dense"), down_bias=w[f"{p}.output.dense.bias"],
                norm2=(w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"]),
            ))

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        start = 0
        while start < len(order):
            end = start + 1  # the batch grows while its padded size (texts × longest, the last) fits
            while (end < len(order) and end - start < self.batch_size
                   and (end - start + 1) * len(encodings[order[end]].ids) <= self.batch_tokens):
                end += 1
            rows = order[start:end]
            out[rows] = self._encode_batch([encodings[i] for i in rows])
            start = end
        return out

    def _encode_batch(self, encodings: list) -> np.ndarray:  # noqa: ANN001 — tokenizers.Encoding
        batch, length = len(encodings), max(len(e.ids) for e in encodings)
        ids = np.full((batch, length), self.pad_id, dtype=np.int64)
        types = np.zeros((batch, length), dtype=np.int64)
        mask = np.zeros((batch, length), dtype=np.float32)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n], types[row, :n], mask[row, :n] = e.ids, e.type_ids, e.attention_mask
        hidden, heads = self.dimension, self.heads
        head_dim = hidden // heads
        x = self._word[ids]
        x += self._position[:length]
        x += self._token_type[types]
        x = _layer_norm(x.reshape(batch * length, hidden), *self._embedding_norm, self.eps)
        padded = bool((mask == 0).any())
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        for layer in self._layers:
            qkv = x @ layer.qkv
            qkv += layer.qkv_bias
            qkv = qkv.reshape(batch, length, 3, heads, head_dim)
            q = qkv[:, :, 0].transpose(0, 2, 1, 3)  # (batch, heads, length, head_dim)
            k = qkv[:, :, 1].transpose(0, 2, 3, 1)  # (batch, heads, head_dim, length)
            v = qkv[:, :, 2].transpose(0, 2, 1, 3)
            scores = q @ k
            if padded:
                scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * length, hidden)
            attended = context @ layer.out
            attended += layer.out_bias
            attended += x
            x = _layer_norm(attended, *layer.norm1, self.eps)
            up = x @ layer.up
            up += layer.up_bias
            down = _gelu(up) @ layer.down
            down += layer.down_bias
            down += x
            x = _layer_norm(down, *layer.norm2, self.eps)
        x = x.reshape(batch, length, hidden)
        pooled = np.einsum("blh,bl->bh", x, mask) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled.astype(np.float32, copy=False)
