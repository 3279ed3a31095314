-- migrate_v3: schema version 2 → 3, who imported each file (issue 16).
-- imported_by: the e-mail (or the OIDC ``sub`` when there is no e-mail) of the logged-in user
-- who imported the file on the Données page; NULL for imports of the command line, of the
-- dashboard in local mode, and for every import made before this version. Nothing else of
-- the identity is ever stored (no name, no token).
alter table imports add column imported_by varchar;
