/**
 * Tours of the addon, as accountants click through it, against the real sidecar and its
 * SII simulator (tests/test_tours.py starts each one with what it needs).
 * The DTE manager and the accountant use the web client in Spanish (es_CL).
 */
import { registry } from "@web/core/registry";

import {
    chooseCaf,
    closeNotifications,
    noEnglish,
    notification,
    openDteMenu,
    openSiiTab,
    postInvoice,
    screenshot,
    tourData,
    uploadFile,
} from "./dte_tour_utils";

const tours = registry.category("web_tour.tours");

// Settings: the sidecar's URL and key, then the company registered and its certificate and
// CAF handed over.
tours.add("dte_setup", {
    steps: () => [
        {
            content: "Open the Invoicing settings",
            trigger: '.settings_tab [data-key="account"]',
            run: "click",
        },
        {
            content: "Sidecar URL",
            trigger: 'div[name="dte_sidecar_url"] input',
            run(helpers) {
                this.anchor.scrollIntoView({ block: "center" });
                return helpers.edit(tourData().url);
            },
        },
        {
            content: "Sidecar API key",
            trigger: 'div[name="dte_sidecar_api_key"] input',
            run(helpers) {
                return helpers.edit(tourData().api_key);
            },
        },
        { content: "Timeout", trigger: 'div[name="dte_sidecar_timeout"] input', run: "edit 60" },
        {
            content: "Save the settings (the web client reloads)",
            trigger: ".o_control_panel .o_form_button_save",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The settings are saved",
            trigger: '.o_form_view:not(.o_form_dirty) div[name="dte_sidecar_url"] input',
            run() {
                this.anchor.scrollIntoView({ block: "center" });
                if (this.anchor.value !== tourData().url) {
                    throw new Error(`the sidecar URL is ${this.anchor.value}`);
                }
            },
        },
        ...screenshot("settings"),
        {
            content: "Check the connection",
            trigger: 'button[name="action_dte_check_connection"]',
            run: "click",
        },
        notification("success", "El servicio DTE responde"),
        {
            content: "Register the company",
            trigger: 'button[name="action_dte_register_company"]',
            run: "click",
        },
        notification("success", "La empresa quedó registrada en el servicio DTE."),
        closeNotifications(),
        {
            content: "Open the certificate and CAF upload",
            trigger: 'button[name="action_dte_open_upload_wizard"]',
            run: "click",
        },
        {
            content: "The upload dialog is open",
            trigger: '.modal .o_form_view div[name="company_id"]',
        },
        uploadFile("certificate_file", () => ({
            name: "firma.p12",
            base64: tourData().p12,
            type: "application/x-pkcs12",
        })),
        {
            content: "Certificate password",
            trigger: '.modal div[name="certificate_password"] input',
            run(helpers) {
                return helpers.edit(tourData().password);
            },
        },
        ...chooseCaf(),
        ...screenshot("upload_wizard"),
        {
            content: "Send them to the sidecar",
            trigger: '.modal .modal-footer button[name="action_upload"]',
            run: "click",
        },
        notification("success", "Enviado al servicio DTE: certificado, archivo CAF."),
        { content: "The dialog is closed", trigger: "body:not(:has(.modal))" },
    ],
});

// An invoice posted and sent: the SII tab shows its state, folio and track ID.
tours.add("dte_invoice_send", {
    steps: () => [
        ...postInvoice(),
        {
            content: "Send it to the SII",
            trigger: '.o_form_statusbar button[name="action_send_to_sii"]:contains(Enviar al SII)',
            run: "click",
        },
        notification("success", "Enviar al SII"),
        {
            content: "The button is gone once the sidecar has the document",
            trigger: '.o_form_view .o_form_statusbar:not(:has(button[name="action_send_to_sii"]))',
        },
        ...openSiiTab("/Enviado|Aceptado/"),
        {
            content: "The SII gave a track ID",
            trigger: 'div[name="dte_track_id"] span:not(:empty)',
        },
        {
            content: "Sent (or already accepted)",
            trigger: 'div[name="dte_state"]:contains(/Enviado|Aceptado/)',
        },
    ],
});

// Later: the SII accepted it, and its backup is listed.
tours.add("dte_invoice_accepted", {
    steps: () => [
        ...openSiiTab("Aceptado"),
        {
            content: "The SII accepted the document",
            trigger: '.o_notebook div[name="dte_state"]:contains(Aceptado)',
        },
        {
            content: "Its folio",
            trigger: `.o_notebook div[name="dte_folio"]:contains(${tourData().folio})`,
        },
        ...screenshot("invoice_sii_tab"),
        ...openDteMenu("l10n_cl_dte_sidecar.menu_dte_backup"),
        {
            content: "The backup of the invoice is listed",
            trigger: `.o_list_view .o_data_row td[name="folio"]:contains(${tourData().folio})`,
            run: "click",
        },
        {
            content: "The backup's form",
            trigger: `.o_form_view div[name="track_id"]:contains(${tourData().track_id})`,
        },
        ...screenshot("backup"),
    ],
});

// The SII is down: the invoice fails to go.
tours.add("dte_send_fails", {
    steps: () => [
        ...postInvoice(),
        {
            content: "Send it to the SII",
            trigger: '.o_form_statusbar button[name="action_send_to_sii"]',
            run: "click",
        },
        notification("warning", "Enviar al SII"),
        ...openSiiTab("Fallido"),
        {
            content: "The document failed",
            trigger: '.o_notebook div[name="dte_state"]:contains(Fallido)',
        },
        noEnglish(
            "Why, in Spanish, from the code the sidecar stored, with the next retry",
            '.o_notebook div[name="dte_message"]:contains((sii.http)):contains(Próximo reintento)',
            "dte_message",
            () => ["(sii.http)"]
        ),
        ...screenshot("invoice_send_failed"),
    ],
});

// The retry queue lists it; a retry while the SII is still down says it failed.
tours.add("dte_retry_fails", {
    steps: () => [
        ...openDteMenu("l10n_cl_dte_sidecar.menu_dte_failed_queue"),
        {
            content: "The invoice waits in the queue",
            trigger: `.o_list_view .o_data_row:has(td[name="folio"]:contains(${tourData().folio})) td[name="queue_status"]:contains(Pendiente)`,
        },
        ...screenshot("retry_queue"),
        {
            content: "Open the entry",
            trigger: `.o_list_view .o_data_row td[name="folio"]:contains(${tourData().folio})`,
            run: "click",
        },
        {
            content: "Retry now, while the SII is still down",
            trigger: '.o_form_view .o_form_statusbar button[name="action_retry_now"]:contains(Reintentar ahora)',
            run: "click",
        },
        notification("danger", "Reintento fallido"),
        {
            content: "No success notification",
            trigger: "body:not(:has(.o_notification .o_notification_bar.bg-success))",
        },
        {
            content: "Still pending",
            trigger: '.o_form_view .o_statusbar_status button.o_arrow_button_current[data-value="pending"]',
        },
        noEnglish(
            "The entry's error reads in Spanish, from its code",
            '.o_form_view div[name="error_text"]:contains((sii.http))',
            "error_text",
            () => ["(sii.http)"]
        ),
        ...screenshot("retry_failed"),
    ],
});

// The SII is back: "Retry now" sends it.
tours.add("dte_retry_now", {
    steps: () => [
        {
            content: "Open the entry",
            trigger: `.o_list_view .o_data_row td[name="folio"]:contains(${tourData().folio})`,
            run: "click",
        },
        {
            content: "Retry now",
            trigger: '.o_form_view .o_form_statusbar button[name="action_retry_now"]',
            run: "click",
        },
        notification("success"),
        {
            content: "The entry succeeded",
            trigger: '.o_form_view .o_statusbar_status button.o_arrow_button_current[data-value="success"]',
        },
        {
            content: "With the SII's track ID",
            trigger: '.o_form_view div[name="success_track_id"] span:not(:empty)',
        },
    ],
});

function openContingencyWizard() {
    return [
        ...openDteMenu("l10n_cl_dte_sidecar.menu_dte_contingency_wizard"),
        {
            content: "The contingency dialog is open",
            trigger: '.modal .o_form_view div[name="pending_count"]',
        },
    ];
}

// Contingency on, with the reason and a comment.
tours.add("dte_contingency_enable", {
    steps: () => [
        ...openContingencyWizard(),
        {
            content: "Contingency is off",
            trigger: ".modal .alert-success:contains(El modo de contingencia está DESACTIVADO)",
        },
        {
            content: "Why",
            trigger: '.modal div[name="comment"] textarea',
            run: "edit Prueba de contingencia",
        },
        {
            content: "Enable contingency",
            trigger: '.modal .modal-footer button[name="action_enable"]:contains(Activar contingencia)',
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".modal .modal-footer .btn-primary:contains(Ok)",
            run: "click",
        },
        notification("success"),
        {
            content: "The dialog opens again and shows contingency on",
            trigger: ".modal .alert-danger:contains(El modo de contingencia está ACTIVO)",
        },
        {
            content: "With the comment of this period",
            trigger: '.modal div[name="current_comment"]:contains(Prueba de contingencia)',
        },
        {
            content: "The comment box is empty for the next switch",
            trigger: '.modal div[name="comment"] textarea:value(/^$/)',
        },
        ...screenshot("contingency_on"),
        {
            content: "Close",
            trigger: ".modal .modal-footer button:contains(Cerrar)",
            run: "click",
        },
        { content: "The dialog is closed", trigger: "body:not(:has(.modal))" },
    ],
});

// An invoice sent during contingency is kept.
tours.add("dte_contingency_send", {
    steps: () => [
        {
            content: "The invoice warns that contingency is on",
            trigger: ".o_form_view .alert-warning:contains(contingencia)",
        },
        ...postInvoice(),
        {
            content: "Send it",
            trigger: '.o_form_statusbar button[name="action_send_to_sii"]',
            run: "click",
        },
        notification("warning", "Enviar al SII"),
        ...openSiiTab("Contingencia"),
        {
            content: "Kept in contingency",
            trigger: '.o_notebook div[name="dte_state"]:contains(Contingencia)',
        },
    ],
});

// Contingency off, then the kept documents uploaded.
tours.add("dte_contingency_disable_upload", {
    steps: () => [
        ...openContingencyWizard(),
        {
            content: "Both invoices are pending",
            trigger: `.modal div[name="pending_count"]:text(${tourData().pending})`,
        },
        {
            content: "Why",
            trigger: '.modal div[name="comment"] textarea',
            run: "edit SII disponible",
        },
        {
            content: "Disable contingency",
            trigger: '.modal .modal-footer button[name="action_disable"]:contains(Desactivar contingencia)',
            run: "click",
        },
        notification("success", "El modo de contingencia está DESACTIVADO."),
        {
            content: "The dialog opens again and shows contingency off",
            trigger: ".modal .alert-success:contains(El modo de contingencia está DESACTIVADO)",
        },
        {
            content: "The comment of the period that ended is gone",
            trigger: ".modal .o_form_view:not(:contains(Prueba de contingencia))",
        },
        ...screenshot("contingency_off"),
        {
            content: "Upload the pending documents",
            trigger: '.modal .modal-footer button[name="action_upload_pending"]:contains(Enviar documentos pendientes)',
            run: "click",
        },
        notification("success"),
        {
            content: "Nothing is pending any more",
            trigger: '.modal div[name="pending_count"]:text(0)',
        },
        {
            content: "Close",
            trigger: ".modal .modal-footer button:contains(Cerrar)",
            run: "click",
        },
        { content: "The dialog is closed", trigger: "body:not(:has(.modal))" },
    ],
});

// The dashboard opens and shows its numbers.
tours.add("dte_dashboard", {
    steps: () => [
        ...openDteMenu("l10n_cl_dte_sidecar.menu_dte_dashboard"),
        {
            content: "Documents by state, accepted ones among them",
            trigger: `.o_form_view div[name="documents_by_state"] tr:contains(Aceptado):contains(${tourData().accepted})`,
        },
        {
            content: "Folios left of type 33",
            trigger: '.o_form_view div[name="folios_left"] tr:contains(33)',
        },
        {
            content: "Documents waiting for a retry",
            trigger: `.o_form_view button[name="action_open_failed_queue"] .o_stat_value:contains(${tourData().waiting})`,
        },
        ...screenshot("dashboard"),
        {
            content: "Refresh",
            trigger: '.o_form_view .o_form_statusbar button[name="action_refresh"]',
            run: "click",
        },
        {
            content: "Still the dashboard",
            trigger: '.o_form_view div[name="documents_by_state"] tr:contains(Aceptado)',
        },
    ],
});
