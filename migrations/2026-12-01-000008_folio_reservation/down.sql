DROP TABLE dte_sidecar.dte_folio_reservation;
