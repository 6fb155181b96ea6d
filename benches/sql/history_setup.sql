SET session_replication_role = replica; SET synchronous_commit = off;
SET default_toast_compression = lz4; SET maintenance_work_mem = '512MB'; SET work_mem = '64MB';
SET search_path TO dte_sidecar, public; SET TIME ZONE 'UTC';
CREATE TEMP TABLE tpl AS
  SELECT k, x.xml, encode(sha256(x.xml), 'hex') AS sha
  FROM generate_series(0, 63) k,
  LATERAL (SELECT convert_to('<?xml version="1.0" encoding="ISO-8859-1"?><DTE version="1.0"><Documento ID="T' || k || '">'
      || repeat('<Detalle><NroLinDet>1</NroLinDet><NmbItem>Servicio</NmbItem><MontoItem>1000</MontoItem></Detalle>', 30 + k * 2)
      || '</Documento></DTE>', 'UTF8') AS xml) x;
CREATE TEMP TABLE kinds AS SELECT * FROM (VALUES (0, '33'), (1, '34'), (2, '52'), (3, '56'), (4, '61')) v(k, t);
