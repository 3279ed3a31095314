-- migrate_v2: schema version 1 → 2, the DUI's pseudonymised records (issue 14, domain.md §6.1).
-- A store of version 1 gets these empty tables; nothing else changes.
-- Record tables: one row per record of the last extract of each table per ESMS (a file of a
-- table replaces that table's rows for each ESMS it holds). Only the DUI's local dossier id
-- and dates and codes: never a name, a birth date, an address, a NIR or an INS.
-- ``line``: the line of the file (record tables) or the bundle number (FHIR).
create table records_sejours (
    finess_et varchar not null,
    dossier_id varchar not null,
    date_entree date not null,
    date_sortie date,
    import_id integer not null,
    line integer
);
-- The dossier's INS status and the date it took effect (one row per status known).
create table records_ins (
    finess_et varchar not null,
    dossier_id varchar not null,
    statut varchar not null,          -- provisoire | recuperee | validee | qualifiee
    date_statut date not null,
    import_id integer not null,
    line integer
);
create table records_pp (
    finess_et varchar not null,
    dossier_id varchar not null,
    date_pp date not null,
    import_id integer not null,
    line integer
);
create table records_evenements (
    finess_et varchar not null,
    dossier_id varchar not null,
    date_evenement date not null,
    statut varchar,                   -- realise | annule | planifie (NULL: realise)
    import_id integer not null,
    line integer
);
create table records_dmp (
    finess_et varchar not null,
    dossier_id varchar not null,
    date_envoi date not null,
    statut varchar not null,          -- envoye | accepte | erreur | refuse
    import_id integer not null,
    line integer
);
create table records_mss (
    finess_et varchar not null,
    date_message date not null,
    sens varchar not null,            -- envoye | recu
    import_id integer not null,
    line integer
);
-- One row per record import: the extract (the record files of one command) it belongs to,
-- that extract's coverage (first and last month with an activity) and whether it carried DMP
-- documents and MSSanté messages (domain.md §6.1: a count it cannot carry is missing).
create table record_imports (
    import_id integer primary key,
    extract_id integer not null,      -- the first import_id of the extract
    debut date,
    fin date,
    dmp boolean not null,
    mss boolean not null
);
-- Which import each ESMS's rows of each record table come from (one: a file replaces the
-- table's rows of the ESMS it holds), kept with the rows so that a re-count finds the
-- ESMS's extracts without reading the record tables.
create table record_holders (
    finess_et varchar not null,
    stored_table varchar not null,    -- records_sejours, records_ins…
    import_id integer not null
);
-- Precomputed usage values hidden by counts computed from records (records win), kept to be
-- shown again if the records stop covering them.
create table usage_shadowed (
    finess_et varchar not null,
    periode date not null,
    indicateur varchar not null,
    valeur bigint not null,
    import_id integer not null,
    line integer
);
