"""The sealing codec: values round-trip, old plain JSON reads, tampering and moves are caught."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.security.errors import SealedPayloadError
from agent.security.sealing import (
    FLAG_ZLIB,
    SEALED_V1,
    SealingCodec,
    blob_key_id,
    key_id,
    new_data_key,
)
from agent.store.codec import JsonCodec, row_key

KEY = new_data_key()
COLUMN = "cached_entity.data"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(json_values, st.sampled_from(["", COLUMN, "conflict.mine"]))
def test_any_json_value_round_trips_sealed(value: object, column: str) -> None:
    codec = SealingCodec(seal_with=KEY)
    blob = codec.encode(value, column)
    assert blob[0] == SEALED_V1
    assert codec.decode(blob, column) == value


def test_sealed_blob_hides_the_text_and_names_its_key() -> None:
    codec = SealingCodec(seal_with=KEY)
    blob = codec.encode({"title": "Printer on fire in room 12"}, COLUMN)
    assert b"Printer" not in blob and b"title" not in blob
    assert blob_key_id(blob) == key_id(KEY)


def test_long_values_are_compressed_before_sealing() -> None:
    codec = SealingCodec(seal_with=KEY)
    text = "the same sentence again " * 200
    blob = codec.encode({"description": text}, COLUMN)
    assert blob[1] & FLAG_ZLIB
    assert len(blob) < len(text) // 4
    assert codec.decode(blob, COLUMN) == {"description": text}


def test_short_values_are_not_compressed() -> None:
    blob = SealingCodec(seal_with=KEY).encode({"a": 1}, COLUMN)
    assert not blob[1] & FLAG_ZLIB


def test_plain_json_written_before_sealing_still_reads() -> None:
    legacy = JsonCodec().encode({"title": "old row", "n": [1, 2]})
    assert SealingCodec(seal_with=KEY).decode(legacy, COLUMN) == {"title": "old row", "n": [1, 2]}
    assert SealingCodec().decode(b'  {"x": 1}', COLUMN) == {"x": 1}


def test_codec_without_a_sealing_key_writes_the_plain_codecs_bytes() -> None:
    value = {"b": 2, "a": "é"}
    assert SealingCodec([KEY]).encode(value, COLUMN) == JsonCodec().encode(value)


def test_a_changed_byte_fails_the_integrity_check() -> None:
    codec = SealingCodec(seal_with=KEY)
    blob = bytearray(codec.encode({"title": "x"}, COLUMN))
    blob[-3] ^= 0x40
    with pytest.raises(SealedPayloadError, match="integrity"):
        codec.decode(bytes(blob), COLUMN)


def test_an_edited_header_fails_the_integrity_check() -> None:
    codec = SealingCodec(seal_with=KEY)
    blob = bytearray(codec.encode({"description": "y" * 300}, COLUMN))
    blob[1] ^= FLAG_ZLIB  # claim it is not compressed
    with pytest.raises(SealedPayloadError):
        codec.decode(bytes(blob), COLUMN)


def test_a_blob_copied_into_another_column_does_not_open() -> None:
    codec = SealingCodec(seal_with=KEY)
    blob = codec.encode("their value", "conflict.theirs")
    assert codec.decode(blob, "conflict.theirs") == "their value"
    with pytest.raises(SealedPayloadError):
        codec.decode(blob, "conflict.mine")


def test_an_unbound_blob_is_refused_by_a_column_that_binds() -> None:
    codec = SealingCodec(seal_with=KEY)
    unbound = codec.encode("from the outbox")
    assert codec.decode(unbound) == "from the outbox"
    with pytest.raises(SealedPayloadError, match="not written there"):
        codec.decode(unbound, "overlay_value.value")


def test_a_blob_copied_into_another_row_does_not_open_and_names_the_row() -> None:
    codec = SealingCodec(seal_with=KEY)
    row_a, row_b = row_key("Tickets", 101), row_key("Tickets", 102)
    blob = codec.encode({"title": "A's title"}, COLUMN, row_a)
    assert codec.decode(blob, COLUMN, row_a) == {"title": "A's title"}
    with pytest.raises(SealedPayloadError, match=r"cached_entity\.data of Tickets 102"):
        codec.decode(blob, COLUMN, row_b)


def test_a_blob_bound_to_its_column_only_opens_only_for_a_rebinding_pass() -> None:
    codec = SealingCodec(seal_with=KEY)
    row = row_key(7)
    old = codec.encode("as the previous version wrote it", "outbox_op.fields")
    with pytest.raises(SealedPayloadError, match=r"outbox_op\.fields of operation #7"):
        codec.decode(old, "outbox_op.fields", row)
    assert codec.open(old, "outbox_op.fields", row, any_binding=True) == (
        "as the previous version wrote it"
    )


def test_a_blob_of_an_unknown_key_says_so() -> None:
    blob = SealingCodec(seal_with=new_data_key()).encode(1, COLUMN)
    with pytest.raises(SealedPayloadError, match="key"):
        SealingCodec(seal_with=KEY).decode(blob, COLUMN)


def test_a_newer_format_is_reported_not_misread() -> None:
    with pytest.raises(SealedPayloadError, match="format 2"):
        SealingCodec(seal_with=KEY).decode(b"\x02" + b"\x00" * 40, COLUMN)


def test_a_cut_short_blob_is_reported() -> None:
    blob = SealingCodec(seal_with=KEY).encode(1, COLUMN)
    with pytest.raises(SealedPayloadError, match="short"):
        SealingCodec(seal_with=KEY).decode(blob[:20], COLUMN)


def test_during_a_rotation_both_keys_open_their_own_blobs() -> None:
    old, new = KEY, new_data_key()
    codec = SealingCodec(seal_with=old)
    before = codec.encode("a", COLUMN)
    codec.seal_with(new)
    after = codec.encode("b", COLUMN)
    assert (codec.decode(before, COLUMN), codec.decode(after, COLUMN)) == ("a", "b")
    with pytest.raises(ValueError):
        codec.drop_key(key_id(new))
    codec.drop_key(key_id(old))
    with pytest.raises(SealedPayloadError):
        codec.decode(before, COLUMN)
