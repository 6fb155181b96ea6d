/**
 * Print, as an accountant does: the invoice's form, its Print button, the web client's
 * report action and the PDF download (tests/test_tours.py checks the PDF's stamp).
 *
 * The page watches the download request (/report/download) and tells the test what came
 * back: status, type, file name, the first bytes and the SHA-256 of the body, logged as
 * ``dte-tour-report:<json>``.
 */
import { browser } from "@web/core/browser/browser";
import { registry } from "@web/core/registry";

import { screenshot, tourData } from "./dte_tour_utils";

const REPORT_MARK = "dte-tour-report:";

function hex(buffer) {
    return Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Wrap the web client's XMLHttpRequest so that report downloads are recorded. */
function watchDownloads() {
    return {
        content: "Watch the report downloads",
        trigger: ".o_form_view",
        run() {
            window.dteDownloads = [];
            delete document.body.dataset.dteDownloads;
            const Base = browser.XMLHttpRequest;
            if (Base.dteWatched) {
                return;
            }
            class Watched extends Base {
                open(method, url, ...rest) {
                    this.dteUrl = String(url);
                    return super.open(method, url, ...rest);
                }
                send(body) {
                    if (this.dteUrl.includes("/report/download")) {
                        this.addEventListener("loadend", async () => {
                            const blob = this.response instanceof Blob ? this.response : new Blob([]);
                            const bytes = await blob.arrayBuffer();
                            const digest = await window.crypto.subtle.digest("SHA-256", bytes);
                            window.dteDownloads.push({
                                status: this.status,
                                type: this.getResponseHeader("Content-Type") || "",
                                disposition: this.getResponseHeader("Content-Disposition") || "",
                                head: new TextDecoder("latin1").decode(bytes.slice(0, 5)),
                                size: blob.size,
                                sha256: hex(digest),
                            });
                            document.body.dataset.dteDownloads = String(window.dteDownloads.length);
                        });
                    }
                    return super.send(body);
                }
            }
            Watched.dteWatched = true;
            browser.XMLHttpRequest = Watched;
        },
    };
}

registry.category("web_tour.tours").add("dte_print_invoice", {
    steps: () => [
        {
            content: `The invoice shows its DTE state: ${tourData().state}`,
            trigger: `.o_form_view .o_inner_group div[name="dte_state"] .badge:contains(${tourData().state})`,
        },
        {
            content: "Its folio, in the SII (DTE) tab",
            trigger: '.o_notebook a.nav-link[name="dte_sidecar"]',
            run: "click",
        },
        {
            content: "The folio the stamp carries",
            trigger: `.o_notebook div[name="dte_folio"]:contains(${tourData().folio})`,
        },
        ...screenshot(`${tourData().name}_form`),
        watchDownloads(),
        {
            content: "Print",
            trigger: '.o_form_view .o_form_statusbar button[name="action_print_pdf"]',
            run: "click",
        },
        {
            content: "The report came back",
            trigger: 'body[data-dte-downloads="1"]',
            // wkhtmltopdf takes seconds, more on a busy machine: the longest wait a step may have.
            timeout: 60000,
        },
        {
            content: "It is a PDF, downloaded as a file, and no error dialog opened",
            trigger: "body:not(:has(.o_error_dialog)):not(:has(.o_report_iframe))",
            run() {
                const [answer] = window.dteDownloads;
                const problems = [];
                if (answer.status !== 200) {
                    problems.push(`status ${answer.status}`);
                }
                if (!answer.type.startsWith("application/pdf")) {
                    problems.push(`type ${answer.type}`);
                }
                if (answer.head !== "%PDF-") {
                    problems.push(`the body starts with ${JSON.stringify(answer.head)}`);
                }
                if (!/filename\*?=.*\.pdf/i.test(answer.disposition)) {
                    problems.push(`disposition ${answer.disposition}`);
                }
                if (problems.length) {
                    throw new Error(`the report download is not a PDF: ${problems.join(", ")}`);
                }
                console.log(`${REPORT_MARK}${JSON.stringify({ name: tourData().name, ...answer })}`);
            },
        },
        {
            content: "Still on the invoice, without a notification of a failed report",
            trigger: `.o_form_view div[name="dte_folio"]:contains(${tourData().folio})`,
            run() {
                if (document.querySelector(".o_notification .o_notification_bar.bg-danger")) {
                    throw new Error("a danger notification is shown");
                }
            },
        },
        ...screenshot(`${tourData().name}_printed`),
    ],
});
