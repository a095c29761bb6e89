-- Hot spots: the places children went to while away and the people of
-- concern they were with, as held interviews recorded them, collated per
-- commissioner. A person of concern is one row per person the service
-- knows of, linked to every interview that named them, so one adult
-- met by several children counts once.
CREATE TABLE people_of_concern (
    id              uuid PRIMARY KEY,
    -- NULL only for episodes recorded before commissioners existed.
    commissioner_id uuid REFERENCES commissioners (id),
    description     text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX people_of_concern_commissioner ON people_of_concern (commissioner_id);

-- One row per place a held interview named (seq is the interview update's
-- number in the episode, idx the place's position in its record). held_at
-- is the interview's, so a period's hot spots need no join on interviews.
CREATE TABLE interview_places (
    episode_id        uuid NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    seq               integer NOT NULL,
    idx               integer NOT NULL,
    place_type        text NOT NULL,
    name              text NOT NULL DEFAULT '',
    postcode_district text NOT NULL DEFAULT '',
    held_at           timestamptz NOT NULL,
    PRIMARY KEY (episode_id, seq, idx)
);
CREATE INDEX interview_places_held_at ON interview_places (held_at);

-- One row per person of concern a held interview named, with the words
-- that interview used.
CREATE TABLE interview_people (
    episode_id  uuid NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    seq         integer NOT NULL,
    idx         integer NOT NULL,
    person_id   uuid NOT NULL REFERENCES people_of_concern (id),
    description text NOT NULL,
    held_at     timestamptz NOT NULL,
    PRIMARY KEY (episode_id, seq, idx)
);
CREATE INDEX interview_people_held_at ON interview_people (held_at);
CREATE INDEX interview_people_person ON interview_people (person_id);

ALTER TABLE people_of_concern OWNER TO homeward_owner;
ALTER TABLE interview_places OWNER TO homeward_owner;
ALTER TABLE interview_people OWNER TO homeward_owner;

-- As the other case records: a caller sees the rows of the episodes they
-- may see, and a person of concern through a visible link or as their
-- commissioner's manager. Commissioner officers see none of them.
GRANT SELECT ON people_of_concern, interview_places, interview_people TO homeward_app;
ALTER TABLE interview_places ENABLE ROW LEVEL SECURITY;
CREATE POLICY interview_places_caller ON interview_places FOR SELECT TO homeward_app
    USING (EXISTS (SELECT 1 FROM episodes e WHERE e.id = interview_places.episode_id));
ALTER TABLE interview_people ENABLE ROW LEVEL SECURITY;
CREATE POLICY interview_people_caller ON interview_people FOR SELECT TO homeward_app
    USING (EXISTS (SELECT 1 FROM episodes e WHERE e.id = interview_people.episode_id));
ALTER TABLE people_of_concern ENABLE ROW LEVEL SECURITY;
CREATE POLICY people_of_concern_caller ON people_of_concern FOR SELECT TO homeward_app
    USING (homeward_visible(commissioner_id, NULL)
           OR EXISTS (SELECT 1 FROM interview_people l WHERE l.person_id = people_of_concern.id));
