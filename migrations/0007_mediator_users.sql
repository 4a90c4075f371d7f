-- 0007_mediator_users.sql: a mediator's account is linked to the
-- mediator's record, and through it to the committees the mediator
-- serves: that is the account's scope. One account per mediator.

ALTER TABLE users ADD COLUMN mediator_id bigint UNIQUE REFERENCES mediators (id);
ALTER TABLE users ADD CONSTRAINT users_mediator_role
    CHECK (mediator_id IS NULL OR role = 'mediator');

-- One open membership of a mediator in a committee at a time.
CREATE UNIQUE INDEX mediator_committees_open
    ON mediator_committees (mediator_id, committee_id) WHERE ended_on IS NULL;
