-- Token rotations (contract §6 "Rotation"), one row per rotated credential.
-- Every running instance polls this log (by id) to drop its cached copy of the
-- old token and close the sockets it authenticated, whichever process rotated it.
CREATE TABLE token_rotation (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    party TEXT NOT NULL,
    ref_id BIGINT NOT NULL,
    create_date BIGINT NOT NULL
);
