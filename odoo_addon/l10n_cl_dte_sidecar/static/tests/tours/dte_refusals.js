/**
 * The sidecar's refusals as a Chilean accountant reads them (tests/test_tours.py,
 * test_08): a CAF that overlaps one already loaded, then a certificate with a wrong
 * password, each sent from the upload dialog of the settings; then, in the retry queue,
 * "Retry now" and "Abandon" on an entry already abandoned, and that entry's error and
 * retry history. Every refusal must read in Spanish, with its code in parentheses for
 * support, and no English sentence on screen (the company's name is data:
 * tourData().company_name).
 */
import { registry } from "@web/core/registry";

import { chooseCaf, noEnglish, screenshot, tourData, uploadFile } from "./dte_tour_utils";

function openUpload() {
    return [
        {
            content: "Open the certificate and CAF upload",
            trigger: 'button[name="action_dte_open_upload_wizard"]',
            run() {
                this.anchor.scrollIntoView({ block: "center" });
                this.anchor.click();
            },
        },
        {
            content: "The upload dialog is open",
            trigger: '.modal .o_form_view div[name="company_id"]',
        },
    ];
}

/** The error dialog of a refusal with ``code``: read, pictured, closed. */
function refusal(code, shot) {
    const dialog = `.modal-content.o_error_dialog:contains((${code}))`;
    return [
        noEnglish(`The refusal ${code} is shown`, `${dialog} [role=alert]`, code, () => [
            `(${code})`,
            tourData().company_name,
        ]),
        ...screenshot(shot),
        {
            content: "Close the error",
            trigger: `${dialog} .modal-footer .btn-primary`,
            run: "click",
        },
    ];
}

/** A refusal met in the upload dialog: read, then the dialog is cancelled. */
function uploadRefusal(code, shot) {
    return [
        ...refusal(code, shot),
        {
            content: "Cancel the upload",
            trigger: ".modal:not(:has(.o_error_dialog)) .modal-footer button.btn-secondary",
            run: "click",
        },
        { content: "The dialogs are closed", trigger: "body:not(:has(.modal))" },
    ];
}

registry.category("web_tour.tours").add("dte_refusals_in_spanish", {
    steps: () => [
        {
            content: "Open the Invoicing settings",
            trigger: '.settings_tab [data-key="account"]',
            run: "click",
        },
        ...openUpload(),
        ...chooseCaf(),
        {
            content: "Send it to the sidecar",
            trigger: '.modal .modal-footer button[name="action_upload"]',
            run: "click",
        },
        ...uploadRefusal("caf.overlaps", "refusal_caf_overlaps"),
        ...openUpload(),
        uploadFile("certificate_file", () => ({
            name: "firma.p12",
            base64: tourData().p12,
            type: "application/x-pkcs12",
        })),
        {
            content: "A wrong certificate password",
            trigger: '.modal div[name="certificate_password"] input',
            run: "edit clave-equivocada",
        },
        {
            content: "Send it to the sidecar",
            trigger: '.modal .modal-footer button[name="action_upload"]',
            run: "click",
        },
        ...uploadRefusal(tourData().certificate_code, "refusal_certificate_password"),
    ],
});

/** The row of the abandoned entry (tourData().folio) in the retry queue's list. */
function entryRow() {
    return `.o_list_view .o_data_row:has(td[name="folio"]:contains(${tourData().folio}))`;
}

registry.category("web_tour.tours").add("dte_queue_refusals_in_spanish", {
    steps: () => [
        {
            content: "Show every entry, not only those to retry",
            trigger: ".o_searchview .o_searchview_facet .o_facet_remove",
            run: "click",
        },
        {
            content: "The abandoned entry is listed",
            trigger: `${entryRow()} td[name="queue_status"]:contains(Abandonado)`,
        },
        {
            content: "Select it",
            trigger: `${entryRow()} .o_list_record_selector input`,
            run: "click",
        },
        {
            content: "Retry it now",
            trigger: '.o_selection_container button[name="action_retry_now"]',
            run: "click",
        },
        ...refusal("queue.retry_not_pending", "refusal_queue_retry_not_pending"),
        {
            content: "Abandon it again",
            trigger: '.o_selection_container button[name="action_abandon"]',
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".modal:not(.o_error_dialog) .modal-footer button.btn-primary",
            run: "click",
        },
        ...refusal("queue.abandon_not_pending", "refusal_queue_abandon_not_pending"),
        { content: "The dialogs are closed", trigger: "body:not(:has(.modal))" },
        {
            content: "Unselect it, if still selected",
            trigger: `${entryRow()} .o_list_record_selector input`,
            run() {
                if (this.anchor.checked) {
                    this.anchor.click();
                }
            },
        },
        { content: "Nothing is selected", trigger: "body:not(:has(.o_selection_container))" },
        {
            content: "Open the entry",
            trigger: `${entryRow()} td[name="folio"]`,
            run: "click",
        },
        noEnglish(
            "Its error reads in Spanish, from its code",
            '.o_form_view div[name="error_text"]:contains((sii.http))',
            "error_text",
            () => ["(sii.http)"]
        ),
        ...screenshot("queue_entry_abandoned"),
        {
            content: "Open the retry history",
            trigger: '.o_notebook a.nav-link[name="retry_history"]',
            run: "click",
        },
        noEnglish(
            "The retry history reads in Spanish, from its codes",
            '.o_form_view .o_dte_retry_history:contains((sii.http))',
            "retry_history",
            () => ["(sii.http)"]
        ),
        ...screenshot("queue_retry_history"),
    ],
});
