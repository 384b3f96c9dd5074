"""The migrations build exactly the schema the models describe, on every backend."""
from mailbot.ledger.db import init_db, make_engine, schema_differences


def test_empty_database_migrates_to_the_models(db_url):
    engine = make_engine(db_url)
    init_db(engine)
    assert schema_differences(engine) == []
    init_db(engine)  # running it again at the next start is harmless
    engine.dispose()
