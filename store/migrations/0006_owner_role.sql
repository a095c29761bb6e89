-- The application's login owns nothing. Every table, sequence and function
-- belongs to homeward_owner, a role nobody logs in as; the login is a member
-- of it, so migrations and the worker's writes act with the owner's rights,
-- while every read made for a person runs as homeward_app (SET LOCAL ROLE),
-- which neither owns the tables nor is a member of their owner, so
-- row-level security applies to it. Later migrations hand what they create
-- to homeward_owner too (a test checks that nothing is left behind).

-- Roles belong to the cluster: another database may be creating it now.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'homeward_owner') THEN
        BEGIN
            CREATE ROLE homeward_owner NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    -- The migrating login must be a member. When it may not grant that to
    -- itself, an administrator must: GRANT homeward_owner TO <login>;
    IF NOT pg_has_role(current_user, 'homeward_owner', 'MEMBER') THEN
        EXECUTE format('GRANT homeward_owner TO %I', current_user);
    END IF;
END $$;

DO $$
DECLARE
    r record;
BEGIN
    -- Tables (their own sequences follow them) and views of this schema.
    FOR r IN
        SELECT c.relname FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
          AND pg_get_userbyid(c.relowner) <> 'homeward_owner'
    LOOP
        EXECUTE format('ALTER TABLE public.%I OWNER TO homeward_owner', r.relname);
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS fn FROM pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace
          AND pg_get_userbyid(p.proowner) <> 'homeward_owner'
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO homeward_owner', r.fn);
    END LOOP;
END $$;

-- Later migrations, run by a member of homeward_owner, create here.
DO $$
BEGIN
    GRANT CREATE ON SCHEMA public TO homeward_owner;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'homeward: grant create on schema public to homeward_owner';
END $$;
