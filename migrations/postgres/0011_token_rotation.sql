-- Token rotations (contract §6 "Rotation"), one row per rotated credential.
-- Every running instance polls this log (by id) to drop its cached copy of the
-- old token and close the sockets it authenticated, whichever process rotated it.
-- Writers lock the table, so ids become visible in increasing order.
CREATE TABLE token_rotation (
    id BIGSERIAL PRIMARY KEY,
    party TEXT NOT NULL,
    ref_id BIGINT NOT NULL,
    create_date BIGINT NOT NULL
);
