// @generated automatically by Diesel CLI.

pub mod dte_sidecar {
    diesel::table! {
        dte_sidecar.dte_alert (id) {
            id -> Int4,
            company_id -> Int4,
            #[max_length = 40]
            rule -> Varchar,
            message -> Text,
            details -> Text,
            raised_at -> Timestamp,
            resolved_at -> Nullable<Timestamp>,
            notified_at -> Nullable<Timestamp>,
        }
    }

    diesel::table! {
        dte_sidecar.dte_audit_log (id) {
            id -> Int4,
            created_at -> Timestamp,
            company_id -> Nullable<Int4>,
            #[max_length = 100]
            actor -> Varchar,
            actor_uid -> Nullable<Int4>,
            #[max_length = 64]
            action -> Varchar,
            #[max_length = 64]
            target_model -> Nullable<Varchar>,
            target_id -> Nullable<Int4>,
            details -> Text,
        }
    }

    diesel::table! {
        dte_sidecar.dte_backup (id) {
            id -> Int4,
            #[max_length = 2]
            dte_type -> Varchar,
            #[max_length = 50]
            folio -> Varchar,
            #[max_length = 12]
            rut_emisor -> Varchar,
            xml_content -> Bytea,
            #[max_length = 64]
            sha256 -> Bpchar,
            #[max_length = 100]
            track_id -> Nullable<Varchar>,
            sent_date -> Timestamp,
            company_id -> Int4,
            move_id -> Int4,
            #[max_length = 255]
            display_name -> Nullable<Varchar>,
            #[max_length = 255]
            xml_filename -> Nullable<Varchar>,
            copied_at -> Nullable<Timestamp>,
        }
    }

    diesel::table! {
        dte_sidecar.dte_backup_daily (company_id, dte_type, day, slot) {
            company_id -> Int4,
            #[max_length = 2]
            dte_type -> Varchar,
            day -> Date,
            slot -> Int2,
            backups -> Int8,
            bytes -> Int8,
        }
    }

    diesel::table! {
        dte_sidecar.dte_backup_totals (company_id, dte_type, slot) {
            company_id -> Int4,
            #[max_length = 2]
            dte_type -> Varchar,
            slot -> Int2,
            backups -> Int8,
            bytes -> Int8,
        }
    }

    diesel::table! {
        dte_sidecar.dte_caf (id) {
            id -> Int4,
            company_id -> Int4,
            #[max_length = 2]
            dte_type -> Varchar,
            folio_from -> Int8,
            folio_to -> Int8,
            next_folio -> Int8,
            authorized_on -> Date,
            expires_on -> Nullable<Date>,
            idk -> Int4,
            sealed_caf -> Bytea,
            #[max_length = 64]
            sha256 -> Bpchar,
            loaded_at -> Timestamp,
        }
    }

    diesel::table! {
        dte_sidecar.dte_certificate (id) {
            id -> Int4,
            company_id -> Int4,
            #[max_length = 12]
            subject_rut -> Varchar,
            #[max_length = 255]
            holder_name -> Varchar,
            not_before -> Nullable<Timestamp>,
            not_after -> Nullable<Timestamp>,
            #[max_length = 64]
            fingerprint -> Bpchar,
            sealed_pkcs12 -> Bytea,
            sealed_password -> Bytea,
            active -> Bool,
            loaded_at -> Timestamp,
        }
    }

    diesel::table! {
        dte_sidecar.dte_company (id) {
            id -> Int4,
            #[max_length = 12]
            rut -> Varchar,
            #[max_length = 100]
            name -> Varchar,
            resolution_number -> Int4,
            resolution_date -> Nullable<Date>,
            created_at -> Timestamp,
            updated_at -> Timestamp,
        }
    }

    diesel::table! {
        dte_sidecar.dte_contingency (id) {
            id -> Int4,
            enabled -> Bool,
            #[max_length = 50]
            reason -> Nullable<Varchar>,
            comment -> Nullable<Text>,
            enabled_date -> Nullable<Timestamp>,
            enabled_by -> Nullable<Int4>,
            disabled_date -> Nullable<Timestamp>,
            disabled_by -> Nullable<Int4>,
            company_id -> Int4,
        }
    }

    diesel::table! {
        dte_sidecar.dte_contingency_pending (id) {
            id -> Int4,
            #[max_length = 2]
            dte_type -> Varchar,
            #[max_length = 50]
            folio -> Varchar,
            #[max_length = 12]
            rut_emisor -> Varchar,
            xml_content -> Bytea,
            stored_date -> Timestamp,
            uploaded -> Bool,
            uploaded_date -> Nullable<Timestamp>,
            #[max_length = 100]
            track_id -> Nullable<Varchar>,
            upload_error -> Nullable<Text>,
            company_id -> Int4,
            move_id -> Int4,
            #[max_length = 255]
            display_name -> Nullable<Varchar>,
            document_id -> Nullable<Int4>,
            envelope_id -> Nullable<Int4>,
            quarantine_reason -> Nullable<Text>,
            #[max_length = 60]
            error_code -> Nullable<Varchar>,
            error_params -> Nullable<Text>,
        }
    }

    diesel::table! {
        dte_sidecar.dte_cron_tick (name, tick) {
            #[max_length = 50]
            name -> Varchar,
            tick -> Timestamp,
            ran_at -> Timestamp,
            #[max_length = 100]
            runner -> Varchar,
        }
    }

    diesel::table! {
        dte_sidecar.dte_document (id) {
            id -> Int4,
            company_id -> Int4,
            move_id -> Int4,
            #[max_length = 2]
            dte_type -> Varchar,
            folio -> Int8,
            #[max_length = 30]
            state -> Varchar,
            request -> Text,
            xml_content -> Bytea,
            #[max_length = 64]
            sha256 -> Bpchar,
            issue_date -> Date,
            #[max_length = 12]
            receiver_rut -> Varchar,
            total -> Int8,
            envelope_id -> Nullable<Int4>,
            #[max_length = 100]
            track_id -> Nullable<Varchar>,
            #[max_length = 20]
            sii_code -> Nullable<Varchar>,
            message -> Nullable<Text>,
            lease_until -> Nullable<Timestamp>,
            created_at -> Timestamp,
            state_changed_at -> Timestamp,
            #[max_length = 60]
            message_code -> Nullable<Varchar>,
            message_params -> Nullable<Text>,
        }
    }

    diesel::table! {
        dte_sidecar.dte_document_daily (company_id, dte_type, state, day, slot) {
            company_id -> Int4,
            #[max_length = 2]
            dte_type -> Varchar,
            #[max_length = 30]
            state -> Varchar,
            day -> Date,
            slot -> Int2,
            documents -> Int8,
        }
    }

    diesel::table! {
        dte_sidecar.dte_document_totals (company_id, dte_type, state, slot) {
            company_id -> Int4,
            #[max_length = 2]
            dte_type -> Varchar,
            #[max_length = 30]
            state -> Varchar,
            slot -> Int2,
            documents -> Int8,
        }
    }

    diesel::table! {
        dte_sidecar.dte_document_transition (id) {
            id -> Int4,
            document_id -> Int4,
            #[max_length = 30]
            from_state -> Nullable<Varchar>,
            #[max_length = 30]
            to_state -> Varchar,
            at -> Timestamp,
            reason -> Nullable<Text>,
        }
    }

    diesel::table! {
        dte_sidecar.dte_envelope (id) {
            id -> Int4,
            company_id -> Int4,
            xml_content -> Bytea,
            #[max_length = 64]
            sha256 -> Bpchar,
            document_count -> Int4,
            #[max_length = 20]
            state -> Varchar,
            #[max_length = 100]
            track_id -> Nullable<Varchar>,
            upload_attempts -> Int4,
            last_error -> Nullable<Text>,
            created_at -> Timestamp,
            uploaded_at -> Nullable<Timestamp>,
            next_poll_at -> Nullable<Timestamp>,
            poll_count -> Int4,
        }
    }

    diesel::table! {
        dte_sidecar.dte_failed_queue (id) {
            id -> Int4,
            #[max_length = 2]
            dte_type -> Varchar,
            #[max_length = 50]
            folio -> Varchar,
            #[max_length = 12]
            rut_emisor -> Varchar,
            xml_content -> Bytea,
            #[max_length = 20]
            error_type -> Varchar,
            error_message -> Text,
            retry_count -> Int4,
            max_retries -> Int4,
            failed_date -> Timestamp,
            last_retry_date -> Nullable<Timestamp>,
            next_retry_date -> Nullable<Timestamp>,
            #[max_length = 20]
            state -> Varchar,
            #[max_length = 100]
            success_track_id -> Nullable<Varchar>,
            success_date -> Nullable<Timestamp>,
            retry_history -> Text,
            company_id -> Int4,
            move_id -> Int4,
            #[max_length = 255]
            display_name -> Nullable<Varchar>,
            document_id -> Nullable<Int4>,
            envelope_id -> Nullable<Int4>,
            #[max_length = 60]
            error_code -> Nullable<Varchar>,
            error_params -> Nullable<Text>,
        }
    }

    diesel::table! {
        dte_sidecar.dte_failed_queue_totals (company_id, state, retried, slot) {
            company_id -> Int4,
            #[max_length = 20]
            state -> Varchar,
            retried -> Bool,
            slot -> Int2,
            entries -> Int8,
        }
    }

    diesel::table! {
        dte_sidecar.dte_folio_reservation (id) {
            id -> Int4,
            company_id -> Int4,
            move_id -> Nullable<Int4>,
            #[max_length = 2]
            dte_type -> Varchar,
            folio -> Int8,
            caf_id -> Int4,
            request -> Nullable<Text>,
            holder -> Int8,
            reserved_at -> Timestamp,
            lease_until -> Timestamp,
        }
    }

    diesel::table! {
        dte_sidecar.dte_sii_health (company_id) {
            company_id -> Int4,
            consecutive_failures -> Int4,
            last_failure_at -> Nullable<Timestamp>,
            last_success_at -> Nullable<Timestamp>,
            last_error -> Nullable<Text>,
        }
    }

    diesel::joinable!(dte_contingency_pending -> dte_document (document_id));
    diesel::joinable!(dte_contingency_pending -> dte_envelope (envelope_id));
    diesel::joinable!(dte_document -> dte_envelope (envelope_id));
    diesel::joinable!(dte_document_transition -> dte_document (document_id));
    diesel::joinable!(dte_failed_queue -> dte_document (document_id));
    diesel::joinable!(dte_failed_queue -> dte_envelope (envelope_id));

    diesel::allow_tables_to_appear_in_same_query!(
        dte_alert,
        dte_audit_log,
        dte_backup,
        dte_backup_daily,
        dte_backup_totals,
        dte_caf,
        dte_certificate,
        dte_company,
        dte_contingency,
        dte_contingency_pending,
        dte_cron_tick,
        dte_document,
        dte_document_daily,
        dte_document_totals,
        dte_document_transition,
        dte_envelope,
        dte_failed_queue,
        dte_failed_queue_totals,
        dte_folio_reservation,
        dte_sii_health,
    );
}
