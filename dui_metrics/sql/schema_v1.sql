-- schema_v1: tables of a new store (schema version 1).
create table meta (key varchar primary key, value varchar not null);

create sequence import_id_seq start 1;

create table imports (
    import_id integer primary key default nextval('import_id_seq'),
    file_name varchar not null,
    file_path varchar,
    sha256 varchar not null,
    kind varchar not null,            -- etablissements | usages_long | usages_large
    imported_at timestamp not null,
    rows_loaded bigint not null,
    rows_replaced bigint not null,
    referentiel_version varchar
);

create table establishments (
    finess_et varchar primary key,
    finess_ej varchar not null,
    raison_sociale varchar not null,
    og_nom varchar,
    categorie varchar,
    departement varchar,
    region varchar,
    editeur varchar,
    logiciel varchar,
    commande varchar,
    date_deploiement date,
    import_id integer not null,
    line integer
);

-- No primary key: bulk replacement is a delete + insert inside one transaction, cheaper than
-- an index at national scale; ingestion guarantees key uniqueness.
create table usage (
    finess_et varchar not null,
    periode date not null,
    indicateur varchar not null,
    valeur bigint not null,
    import_id integer not null,
    line integer
);
