"""Operator events are append-only in the database itself, like a clinic's audit trail."""

from django.db import migrations

APPEND_ONLY = """
CREATE FUNCTION operator_event_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'operator events are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER operator_event_no_update_or_delete
    BEFORE UPDATE OR DELETE ON operators_operatorevent
    FOR EACH ROW EXECUTE FUNCTION operator_event_is_append_only();
CREATE TRIGGER operator_event_no_truncate
    BEFORE TRUNCATE ON operators_operatorevent
    FOR EACH STATEMENT EXECUTE FUNCTION operator_event_is_append_only();
"""

REVERSE = """
DROP TRIGGER operator_event_no_truncate ON operators_operatorevent;
DROP TRIGGER operator_event_no_update_or_delete ON operators_operatorevent;
DROP FUNCTION operator_event_is_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("operators", "0001_initial")]
    operations = [migrations.RunSQL(APPEND_ONLY, REVERSE)]
