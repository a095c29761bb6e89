-- Staff who sign in by OpenID Connect: a user is known by its issuer and
-- subject, and needs no API token (token_hash stays for service users).
ALTER TABLE users ALTER COLUMN token_hash DROP NOT NULL;
ALTER TABLE users ADD COLUMN oidc_issuer text;
ALTER TABLE users ADD COLUMN oidc_subject text;
ALTER TABLE users ADD CONSTRAINT users_oidc_identity_key UNIQUE (oidc_issuer, oidc_subject);
ALTER TABLE users ADD CONSTRAINT users_oidc_pair_check
    CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL));
ALTER TABLE users ADD CONSTRAINT users_credential_check
    CHECK (token_hash IS NOT NULL OR oidc_subject IS NOT NULL);
