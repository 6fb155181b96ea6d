// @generated automatically by Diesel CLI.

pub mod dte_sidecar {
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
        }
    }

    diesel::allow_tables_to_appear_in_same_query!(
        dte_audit_log,
        dte_backup,
        dte_company,
        dte_contingency,
        dte_contingency_pending,
        dte_failed_queue,
    );
}
