"""`make run` on a machine with nothing but Python: the embedded PostgreSQL and Redis."""

import psycopg
import redis

from drcrm.dev_services import EmbeddedPostgres, EmbeddedRedis


def test_embedded_postgres_and_redis_start_in_a_folder_and_answer(tmp_path):
    postgres = EmbeddedPostgres(tmp_path / "postgres")
    redis_server = EmbeddedRedis(tmp_path / "redis")
    try:
        database_url = postgres.start()
        redis_url = redis_server.start()

        with psycopg.connect(database_url) as conn:
            conn.execute("CREATE TABLE probe (note text)")
            conn.execute("INSERT INTO probe VALUES ('written')")
            assert conn.execute("SELECT note FROM probe").fetchone() == ("written",)
            assert conn.execute("SELECT current_database()").fetchone() == ("drcrm",)

        client = redis.Redis.from_url(redis_url)
        client.set("probe", "written")
        assert client.get("probe") == b"written"
        client.close()
    finally:
        redis_server.stop()
        postgres.stop()
    assert (tmp_path / "postgres" / "PG_VERSION").exists()


def test_a_second_start_reuses_the_data(tmp_path):
    first = EmbeddedPostgres(tmp_path / "postgres")
    try:
        with psycopg.connect(first.start()) as conn:
            conn.execute("CREATE TABLE kept (n int)")
    finally:
        first.stop()
    second = EmbeddedPostgres(tmp_path / "postgres")
    try:
        with psycopg.connect(second.start()) as conn:
            assert conn.execute("SELECT count(*) FROM kept").fetchone() == (0,)
    finally:
        second.stop()
