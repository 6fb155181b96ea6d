/**
 * The sidecar's refusals as a Chilean accountant reads them (tests/test_tours.py,
 * test_08): a CAF that overlaps one already loaded, then a certificate with a wrong
 * password, each sent from the upload dialog of the settings. Every refusal must read in
 * Spanish, with its code in parentheses for support, and no English sentence on screen
 * (the company's name is data: tourData().company_name).
 */
import { registry } from "@web/core/registry";

import { screenshot, tourData, uploadFile } from "./dte_tour_utils";

/** Words of an English sentence that a Spanish one never holds. */
const ENGLISH = /\b(the|is|are|not|of|and|already|must|cannot|expected|company|unknown|invalid|register|certificate|document|password)\b/i;

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
        {
            content: `The refusal ${code} is shown`,
            trigger: `${dialog} [role=alert]`,
            run() {
                const text = this.anchor.textContent.trim();
                console.log(`dte-tour-report:${JSON.stringify({ code, text })}`);
                // The code and the company's name (data, in whatever language) are not prose.
                const sentence = text.replace(`(${code})`, "").replace(tourData().company_name, "");
                if (ENGLISH.test(sentence)) {
                    throw new Error(`English on screen: ${text}`);
                }
            },
        },
        ...screenshot(shot),
        {
            content: "Close the error",
            trigger: `${dialog} .modal-footer .btn-primary`,
            run: "click",
        },
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
        uploadFile("caf_file", () => ({
            name: tourData().caf_name,
            base64: tourData().caf,
            type: "text/xml",
        })),
        {
            content: "The CAF file is chosen",
            trigger: '.modal div[name="caf_file"] input.o_input:value(/xml$/)',
        },
        {
            content: "Send it to the sidecar",
            trigger: '.modal .modal-footer button[name="action_upload"]',
            run: "click",
        },
        ...refusal("caf.overlaps", "refusal_caf_overlaps"),
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
        ...refusal(tourData().certificate_code, "refusal_certificate_password"),
    ],
});
