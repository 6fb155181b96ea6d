/**
 * Steps shared by the addon's tours (tests/tour_common.py starts them).
 *
 * - tourData(): what the Python test handed over (files, URLs, folios); the test puts it in
 *   every page the tab loads, so it survives the reloads a tour goes through.
 * - screenshot(name): the test saves a PNG of the page as it is now; the next step waits
 *   until the picture is taken.
 * - notification(type, text): a notification of that colour (success, warning, danger).
 * - openDteMenu(xmlid): Invoicing > SII (DTE) > the entry, clicked as a user does.
 */
import { stepUtils } from "@web_tour/tour_utils";

export function tourData() {
    return window.dteTourData || {};
}

export function screenshot(name) {
    return [
        {
            content: `Screenshot: ${name}`,
            trigger: "body:not(:has(.o_loading_indicator))",
            run() {
                delete document.body.dataset.dteShot;
                console.log(`dte-screenshot:${name}`);
            },
        },
        {
            content: `Screenshot taken: ${name}`,
            trigger: `body[data-dte-shot="${name}"]`,
        },
    ];
}

/** Words of an English sentence that a Spanish one never holds. */
export const ENGLISH =
    /\b(the|is|are|not|of|and|already|must|cannot|expected|company|unknown|invalid|register|certificate|document|password|answered|retry|sent|failed|waiting|next)\b/i;

/**
 * A step that fails when the text of ``trigger`` holds an English sentence; ``data`` (the
 * company's name, the code in parentheses…) is taken out first: it is not prose. The text
 * goes to the test as a ``dte-tour-report`` with ``report`` as its key.
 */
export function noEnglish(content, trigger, report, data = () => []) {
    return {
        content,
        trigger,
        run() {
            const text = this.anchor.innerText.replace(/\s+/g, " ").trim();
            console.log(`dte-tour-report:${JSON.stringify({ code: report, text })}`);
            let prose = text;
            for (const item of data()) {
                prose = prose.split(item).join("");
            }
            if (ENGLISH.test(prose)) {
                throw new Error(`English on screen: ${text}`);
            }
        },
    };
}

export function notification(type, text) {
    const body = text ? `:contains(${text})` : "";
    return {
        content: `A ${type} notification${text ? ` saying "${text}"` : ""}`,
        trigger: `.o_notification:has(.o_notification_bar.bg-${type})${body}`,
    };
}

export function closeNotifications() {
    return {
        content: "Close the notifications",
        trigger: "body",
        run() {
            for (const button of document.querySelectorAll(".o_notification_close")) {
                button.click();
            }
        },
    };
}

/**
 * Puts a file in a binary field of the dialog as choosing it in the file dialog does;
 * ``file()`` gives ``{ name, base64, type }`` when the step runs.
 */
export function uploadFile(fieldName, file) {
    return {
        content: `Choose the file of ${fieldName}`,
        trigger: `.modal div[name="${fieldName}"]`,
        run() {
            const { name, base64, type } = file();
            const input = this.anchor.querySelector("input[type=file]");
            const bytes = Uint8Array.from(window.atob(base64), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type }));
            input.files = transfer.files;
            input.dispatchEvent(new Event("change", { bubbles: true }));
        },
    };
}

/** Choose the CAF file of tourData() (``caf``, ``caf_name``) in the upload dialog. */
export function chooseCaf() {
    return [
        uploadFile("caf_file", () => ({
            name: tourData().caf_name,
            base64: tourData().caf,
            type: "text/xml",
        })),
        {
            content: "The CAF file is chosen",
            trigger: '.modal div[name="caf_file"] input.o_input:value(/xml$/)',
        },
    ];
}

export function openDteMenu(xmlid) {
    return [
        ...stepUtils.goToAppSteps("account.menu_finance", "Open Invoicing"),
        {
            content: "Open the SII (DTE) menu",
            trigger: '.o_menu_sections button[data-menu-xmlid="l10n_cl_dte_sidecar.menu_dte_root"]',
            run: "click",
        },
        {
            content: `Open ${xmlid}`,
            trigger: `.dropdown-menu [data-menu-xmlid="${xmlid}"]`,
            run: "click",
        },
    ];
}

/** Confirm (post) the draft invoice open in the form. */
export function postInvoice() {
    return [
        {
            content: "Confirm the invoice",
            trigger: '.o_form_view .o_form_statusbar button[name="action_post"]',
            run: "click",
        },
        {
            content: "The invoice is posted",
            trigger: '.o_form_view .o_statusbar_status button.o_arrow_button_current[data-value="posted"]',
        },
    ];
}

/** The SII (DTE) tab, once the form shows ``state`` (its label) in the header's badge. */
export function openSiiTab(state) {
    return [
        {
            content: `The form shows the DTE state ${state}`,
            trigger: `.o_form_view .o_inner_group div[name="dte_state"] .badge:contains(${state})`,
        },
        {
            content: "Open the SII (DTE) tab",
            trigger: '.o_notebook a.nav-link[name="dte_sidecar"]',
            run: "click",
        },
        {
            content: "The SII (DTE) tab is open",
            trigger: '.o_notebook a.nav-link.active[name="dte_sidecar"]',
        },
    ];
}
