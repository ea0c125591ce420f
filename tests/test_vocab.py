"""The normalising vocabularies (llmpulse.vocab) keep every label they produce in its bounded set."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=300, deadline=None)
@given(status=st.one_of(st.none(), st.integers(0, 999), st.text(max_size=5), st.booleans()),
       exception_type=st.sampled_from(["", "openai.RateLimitError", "TimeoutError", "httpx.ConnectError",
                                       "anthropic.APIStatusError", "Cancelled"]) | st.text(max_size=30),
       error_type=st.sampled_from(["", "429", "500", "timeout", "rate_limit", "canceled"]) | st.text(max_size=20),
       message=st.sampled_from(["", "Error code: 429 - slow down", "content filter triggered", "timed out"])
       | st.text(max_size=60))
def test_error_class_is_always_one_of_the_error_types(status, exception_type, error_type, message):
    """error_type is a label: whatever a span says, it is one of records.ERROR_TYPES."""
    from llmpulse.records import ERROR_TYPES
    from llmpulse.vocab import error_class

    assert error_class(status, exception_type, error_type, message) in ERROR_TYPES


def test_memos_of_sender_values_stay_bounded_and_answer_as_without_them():
    """provider_name and the finish-reason reader remember what senders send: a bounded number of
    entries, and the same answers as the functions they remember."""
    from llmpulse import dialects, vocab
    for i in range(3 * vocab.MEMO_SIZE):
        raw = f"Provider-{i}"
        assert vocab.provider_name(raw) == vocab._provider_name(raw)
        assert len(vocab._provider_memo) <= vocab.MEMO_SIZE
    for i in range(3 * dialects.FINISH_MEMO_SIZE):
        raw = f'["stop", "reason-{i}"]'
        assert dialects._finish_reasons(raw) == dialects._read_finish_reasons(raw) == ("stop", "other")
        assert len(dialects._finish_memo) <= dialects.FINISH_MEMO_SIZE
    long = "x" * 300                # not remembered at all
    assert dialects._finish_reasons(long) == ("other",) and long not in dialects._finish_memo
