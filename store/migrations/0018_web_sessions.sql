-- Staff signed in to the web interface. Only hashes of the cookie value
-- and of one-time sign-in links are kept, so a copy of the database signs
-- nobody in. Read and written by the store's own login only: the
-- application role (row-level security for case data) gets no grant.
CREATE TABLE web_sessions (
    id_hash      bytea PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    ended_at     timestamptz
);
CREATE INDEX web_sessions_user_idx ON web_sessions (user_id);

-- One-time sign-in links, printed by `homeward user add` and
-- `homeward user link`; used once, within minutes.
CREATE TABLE sign_in_links (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX sign_in_links_user_idx ON sign_in_links (user_id);

ALTER TABLE web_sessions OWNER TO homeward_owner;
ALTER TABLE sign_in_links OWNER TO homeward_owner;
