-- 0001_regions.sql: the administrative division hierarchy (GB/T 2260),
-- province > city > county > township, seeded with Guangxi, Liuzhou and
-- Liuzhou's ten county-level divisions. Another city or province loads its
-- own rows; the hierarchy is general.

CREATE TYPE region_level AS ENUM ('province', 'city', 'county', 'township');

CREATE TABLE regions (
    code        text PRIMARY KEY
                CHECK (code ~ '^[0-9]{6}([0-9]{3}([0-9]{3})?)?$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    level       region_level NOT NULL,
    parent_code text REFERENCES regions (code),
    CHECK ((level = 'province') = (parent_code IS NULL))
);

CREATE INDEX regions_parent_code ON regions (parent_code, code);

-- A region sits strictly below its parent: a county under a city or a
-- province (province-administered counties), never under another county.
CREATE FUNCTION regions_check_parent_level() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    parent_level region_level;
BEGIN
    IF NEW.parent_code IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT level INTO parent_level FROM regions WHERE code = NEW.parent_code;
    IF FOUND AND parent_level >= NEW.level THEN
        RAISE EXCEPTION 'region % (%) cannot be placed under % (%)',
            NEW.code, NEW.level, NEW.parent_code, parent_level
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER regions_parent_level
    BEFORE INSERT OR UPDATE OF parent_code, level ON regions
    FOR EACH ROW EXECUTE FUNCTION regions_check_parent_level();

INSERT INTO regions (code, name, level, parent_code) VALUES
    ('450000', '广西壮族自治区', 'province', NULL),
    ('450200', '柳州市', 'city', '450000'),
    ('450202', '城中区', 'county', '450200'),
    ('450203', '鱼峰区', 'county', '450200'),
    ('450204', '柳南区', 'county', '450200'),
    ('450205', '柳北区', 'county', '450200'),
    ('450206', '柳江区', 'county', '450200'),
    ('450222', '柳城县', 'county', '450200'),
    ('450223', '鹿寨县', 'county', '450200'),
    ('450224', '融安县', 'county', '450200'),
    ('450225', '融水苗族自治县', 'county', '450200'),
    ('450226', '三江侗族自治县', 'county', '450200');
