/** The sidecar's block of the settings as a user sees it: labels on one line, the
 * resolution date shown whole (with its year), the action links aligned. */
import { registry } from "@web/core/registry";

/** Where the text of `selector` starts on the screen (its padding left out). */
function textLeft(selector) {
    const element = document.querySelector(selector);
    if (!element) {
        throw new Error(`missing: ${selector}`);
    }
    const range = document.createRange();
    range.selectNodeContents(element);
    return range.getBoundingClientRect().left;
}

/** Links count as aligned with the labels within this many pixels (an icon's bearing). */
const TOLERANCE = 6;

registry.category("web_tour.tours").add("l10n_cl_dte_sidecar_settings_layout", {
    url: "/odoo/settings",
    steps: () => [
        {
            content: "Open the Invoicing settings",
            trigger: ".settings_tab .tab[data-key='account']",
            run: "click",
        },
        {
            content: "The sidecar's block is there",
            trigger: "#dte_sidecar_company label[for^='dte_company_resolution_number']",
        },
        {
            content: "Every label of the block is on one line",
            trigger: "#dte_sidecar_company [name='dte_company_resolution_date'] .o_input",
            run() {
                for (const label of document.querySelectorAll(
                    "#dte_sidecar_company label.o_light_label, #dte_sidecar_connection label.o_light_label"
                )) {
                    const lineHeight = parseFloat(getComputedStyle(label).lineHeight) || 21;
                    if (label.getBoundingClientRect().height > lineHeight * 1.5) {
                        throw new Error(`the label "${label.textContent.trim()}" wraps`);
                    }
                }
            },
        },
        {
            content: "The resolution date shows its year, not cut",
            trigger: "#dte_sidecar_company [name='dte_company_resolution_date'] .o_input",
            run() {
                // Odoo 19 shows a date as a button ("Jan 2", no year in the current year)
                // until it is clicked, or as an input.
                const shown = this.anchor;
                const text = (shown.tagName === "INPUT" ? shown.value : shown.textContent).trim();
                if (!/2026/.test(text)) {
                    throw new Error(`the resolution date reads "${text}"`);
                }
                if (shown.scrollWidth > shown.clientWidth + 1) {
                    throw new Error(`the resolution date "${text}" is cut (${shown.scrollWidth} > ${shown.clientWidth})`);
                }
            },
        },
        {
            content: "The links start where the labels start",
            trigger: "#dte_sidecar_company button[name='action_dte_open_upload_wizard']",
            run() {
                const label = textLeft("#dte_sidecar_company label[for^='dte_company_acteco']");
                for (const name of ["action_dte_register_company", "action_dte_open_upload_wizard"]) {
                    const button = document.querySelector(`#dte_sidecar_company button[name='${name}']`);
                    const left = button.querySelector("i, span").getBoundingClientRect().left;
                    if (Math.abs(left - label) > TOLERANCE) {
                        throw new Error(`${name} starts at ${left}px, the labels at ${label}px`);
                    }
                }
                const check = document.querySelector("#dte_sidecar_connection button[name='action_dte_check_connection']");
                const checkLeft = check.querySelector("i, span").getBoundingClientRect().left;
                const urlLabel = textLeft("#dte_sidecar_connection label[for^='dte_sidecar_url']");
                if (Math.abs(checkLeft - urlLabel) > TOLERANCE) {
                    throw new Error(`Check connection starts at ${checkLeft}px, the labels at ${urlLabel}px`);
                }
            },
        },
    ],
});
