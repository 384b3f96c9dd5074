"""Property: any TOML-shaped input or environment gives a Config or a ConfigError naming a key — never another
exception. (10,000 examples with HYPOTHESIS_PROFILE=thorough, like the other fuzz tests.)"""
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.config import _SECTION_TYPES, parse_config
from mailbot.errors import ConfigError

EXAMPLES = 10_000 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 300
SECTIONS = [*_SECTION_TYPES, "rules", "bogus"]
KEYS = sorted({f for cls in _SECTION_TYPES.values() for f in cls.__dataclass_fields__} | {"from", "nope", "policy"})
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=30), st.lists(st.text(max_size=10), max_size=3))
tables = st.dictionaries(st.sampled_from(KEYS), st.one_of(scalars, st.dictionaries(st.text(max_size=8), scalars,
                                                                                   max_size=3)), max_size=6)
configs = st.dictionaries(st.sampled_from(SECTIONS), st.one_of(tables, scalars), max_size=5)
envs = st.dictionaries(st.sampled_from([f"MAILBOT_{s.upper()}_{k.upper()}" for s in _SECTION_TYPES for k in KEYS]),
                       st.text(max_size=20), max_size=4)


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=configs, env=envs)
def test_any_input_gives_a_config_or_a_clear_error(data, env):
    try:
        config = parse_config(data, env=env)
    except ConfigError as exc:
        assert str(exc)  # always says what is wrong
        return
    assert config.inbox.kind in ("imap", "maildir") and config.outbox.kind in ("smtp", "file")
