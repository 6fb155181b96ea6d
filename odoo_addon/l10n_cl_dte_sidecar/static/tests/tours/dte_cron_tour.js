/**
 * Settings > Technical > Scheduled Actions > "DTE: Retry Failed DTEs" > Run Manually, as a
 * DTE manager (Odoo 19's name for "Run Now"): the notification says what was done.
 * tests/test_tours.py starts it with one entry of the retry queue due.
 */
import { registry } from "@web/core/registry";

import { notification, screenshot } from "./dte_tour_utils";

registry.category("web_tour.tours").add("dte_cron_run_manually", {
    steps: () => [
        {
            content: "Open Technical in Settings",
            trigger: '.o_menu_sections button[data-menu-xmlid="base.menu_custom"]',
            run: "click",
        },
        {
            content: "Open Scheduled Actions",
            trigger: '.dropdown-menu [data-menu-xmlid="base.menu_ir_cron_act"]',
            run: "click",
        },
        {
            content: "Search the retry of failed DTEs",
            trigger: ".o_control_panel .o_searchview_input",
            run: "edit DTE: Retry Failed DTEs && press Enter",
        },
        {
            content: "Open it",
            trigger: '.o_list_view .o_data_row td[name="name"]:contains(DTE: Retry Failed DTEs)',
            run: "click",
        },
        {
            content: "Run it manually",
            trigger: '.o_form_view button[name="method_direct_trigger"]',
            run: "click",
        },
        notification("success", "Reintentados:"),
        ...screenshot("cron_run_manually"),
    ],
});
