//! The checks of a DTE request, with the SII schema's lengths and list sizes read from
//! [`limits`](super::limits), their one owner.

use chrono::NaiveDate;

use super::error::{DteError, DteResult};
use super::limits::{max_chars, max_items};
use super::model::*;
use super::rut::Rut;
use super::text::{clean_required_text, clean_text, Decimal};
use crate::message::Message;

// Limits from DTE_v10.xsd / SiiTypes_v10.xsd.
/// `MontoType`: at most 18 digits.
const MAX_AMOUNT: i64 = 999_999_999_999_999_999;

impl DteRequest {
    /// Reads a request from JSON; an error names the JSON path that failed
    /// (`lines[0].quantity: …`).
    pub fn from_json(json: &[u8]) -> DteResult<DteRequest> {
        let deserializer = &mut serde_json::Deserializer::from_slice(json);
        serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let path = error.path().to_string();
            let field = if path == "." { "request".to_string() } else { path };
            DteError::refused(Message::request_shape(field, error.into_inner().to_string()))
        })
    }

    /// The document type, if supported.
    pub fn dte_type(&self) -> DteResult<DteType> {
        DteType::from_code(self.document_type)
            .ok_or_else(|| DteError::refused(Message::type_unsupported("document_type", u32::from(self.document_type))))
    }

    /// Checks the whole request; the error names the first field at fault.
    pub fn validate(&self) -> DteResult<ComputedTotals> {
        self.prepare().map(|prepared| prepared.totals)
    }

    pub(crate) fn prepare(&self) -> DteResult<PreparedDte> {
        let document_type = self.dte_type()?;
        let mut request = self.clone();
        let issuer_rut = parse_rut("issuer.rut", &request.issuer.rut)?;
        let receiver_rut = parse_rut("receiver.rut", &request.receiver.rut)?;
        check_date("issue_date", request.issue_date)?;
        if let Some(due_date) = request.due_date {
            check_date("due_date", due_date)?;
        }
        if let Some(form) = request.payment_form {
            if !(1..=3).contains(&form) {
                return Err(DteError::refused(Message::field_range("payment_form", 1, 3)));
            }
        }
        check_transfer(document_type, request.transfer.as_ref())?;
        request.issuer.clean()?;
        request.receiver.clean(document_type)?;
        if let Some(transport) = request.transport.as_mut() {
            transport.clean()?;
        }
        check_lines(document_type, &mut request.lines)?;
        check_adjustments(&mut request.global_adjustments)?;
        check_references(document_type, &mut request.references)?;
        let totals = compute_totals(&request)?;
        compare_totals(document_type, &request.totals, &totals)?;
        Ok(PreparedDte { request, document_type, issuer_rut, receiver_rut, totals })
    }
}

fn parse_rut(field: &str, text: &str) -> DteResult<Rut> {
    Rut::parse(text).map_err(|error| DteError::refused(Message::rut_invalid(field, error.to_string())))
}

/// `FechaType` spans 2000-01-01 to 2050-12-31.
fn check_date(field: &str, date: NaiveDate) -> DteResult<()> {
    let in_range = NaiveDate::from_ymd_opt(2000, 1, 1).is_some_and(|first| date >= first)
        && NaiveDate::from_ymd_opt(2050, 12, 31).is_some_and(|last| date <= last);
    if in_range {
        Ok(())
    } else {
        Err(DteError::refused(Message::date_range(field, date.to_string())))
    }
}

fn clean_optional(field: &str, value: &mut Option<String>) -> DteResult<()> {
    let max_chars = max_chars(field);
    if let Some(text) = value.as_mut() {
        *text = clean_text(field, text, max_chars)?;
        if text.is_empty() {
            *value = None;
        }
    }
    Ok(())
}

fn clean_required(field: &str, value: &mut String) -> DteResult<()> {
    let max_chars = max_chars(field);
    *value = clean_required_text(field, value, max_chars)?;
    Ok(())
}

fn check_transfer(document_type: DteType, transfer: Option<&Transfer>) -> DteResult<()> {
    match (document_type, transfer) {
        (DteType::GuiaDespacho, None) => Err(DteError::refused(Message::guide_needs_transfer("transfer.indicator"))),
        (DteType::GuiaDespacho, Some(transfer)) => {
            if !(1..=9).contains(&transfer.indicator) {
                return Err(DteError::refused(Message::field_range("transfer.indicator", 1, 9)));
            }
            if let Some(kind) = transfer.dispatch_type {
                if !(1..=3).contains(&kind) {
                    return Err(DteError::refused(Message::field_range("transfer.dispatch_type", 1, 3)));
                }
            }
            Ok(())
        }
        (_, Some(_)) => Err(DteError::refused(Message::transfer_only_guide("transfer", document_type.as_str()))),
        (_, None) => Ok(()),
    }
}

impl Issuer {
    fn clean(&mut self) -> DteResult<()> {
        clean_required("issuer.name", &mut self.name)?;
        clean_required("issuer.giro", &mut self.giro)?;
        if self.actecos.is_empty() || self.actecos.len() > max_items("issuer.actecos") {
            return Err(DteError::refused(Message::actecos_count("issuer.actecos", max_items("issuer.actecos"))));
        }
        for (index, acteco) in self.actecos.iter().enumerate() {
            if *acteco == 0 || *acteco > 999_999 {
                return Err(DteError::refused(Message::acteco_invalid(format!("issuer.actecos[{index}]"), *acteco)));
            }
        }
        clean_optional("issuer.phone", &mut self.phone)?;
        clean_optional("issuer.email", &mut self.email)?;
        clean_optional("issuer.branch", &mut self.branch)?;
        if let Some(code) = self.sii_branch_code {
            if code == 0 || code > 999_999_999 {
                return Err(DteError::refused(Message::digits_range("issuer.sii_branch_code", 1, 9)));
            }
        }
        clean_required("issuer.address", &mut self.address)?;
        clean_required("issuer.comuna", &mut self.comuna)?;
        clean_optional("issuer.city", &mut self.city)?;
        clean_optional("issuer.seller_code", &mut self.seller_code)?;
        if let Some(resolution) = self.resolution {
            check_date("issuer.resolution.date", resolution.date)?;
            if resolution.number > 999_999 {
                return Err(DteError::refused(Message::digits_max("issuer.resolution.number", 6)));
            }
        }
        Ok(())
    }
}

impl Receiver {
    fn clean(&mut self, document_type: DteType) -> DteResult<()> {
        clean_optional("receiver.internal_code", &mut self.internal_code)?;
        clean_required("receiver.name", &mut self.name)?;
        clean_optional("receiver.giro", &mut self.giro)?;
        if self.giro.is_none() && document_type != DteType::GuiaDespacho {
            return Err(DteError::refused(Message::required_on_type("receiver.giro", document_type.as_str())));
        }
        clean_optional("receiver.contact", &mut self.contact)?;
        clean_optional("receiver.email", &mut self.email)?;
        clean_required("receiver.address", &mut self.address)?;
        clean_required("receiver.comuna", &mut self.comuna)?;
        clean_optional("receiver.city", &mut self.city)?;
        Ok(())
    }
}

impl Transport {
    fn clean(&mut self) -> DteResult<()> {
        clean_optional("transport.plate", &mut self.plate)?;
        if let Some(rut) = &self.carrier_rut {
            let parsed = parse_rut("transport.carrier_rut", rut)?;
            self.carrier_rut = Some(parsed.to_string());
        }
        if let Some(driver) = self.driver.as_mut() {
            driver.rut = parse_rut("transport.driver.rut", &driver.rut)?.to_string();
            clean_required("transport.driver.name", &mut driver.name)?;
        }
        clean_optional("transport.destination_address", &mut self.destination_address)?;
        clean_optional("transport.destination_comuna", &mut self.destination_comuna)?;
        clean_optional("transport.destination_city", &mut self.destination_city)?;
        Ok(())
    }
}

fn check_amount(field: &str, amount: i64) -> DteResult<()> {
    if (0..=MAX_AMOUNT).contains(&amount) {
        Ok(())
    } else {
        Err(DteError::refused(Message::amount_digits(field, amount.to_string())))
    }
}

/// `Dec12_6Type`: > 0, at most 12 integer digits and 6 fraction digits.
fn check_quantity_like(field: &str, value: &Decimal) -> DteResult<()> {
    if !value.is_positive() {
        return Err(DteError::refused(Message::not_positive(field, value.to_string())));
    }
    if value.fraction_digits() > 6 || value.integer_digits() > 12 {
        return Err(DteError::refused(Message::quantity_digits(field, value.to_string())));
    }
    Ok(())
}

/// `PctType`: 0.01 to 999.99, two decimals.
fn check_percent(field: &str, value: &Decimal) -> DteResult<()> {
    if !value.is_positive() || value.fraction_digits() > 2 || value.integer_digits() > 3 {
        return Err(DteError::refused(Message::percent_range(field, value.to_string())));
    }
    Ok(())
}

fn check_lines(document_type: DteType, lines: &mut [Line]) -> DteResult<()> {
    if lines.is_empty() || lines.len() > max_items("lines") {
        return Err(DteError::refused(Message::count_range("lines", max_items("lines"), lines.len())));
    }
    for (index, line) in lines.iter_mut().enumerate() {
        let field = |name: &str| format!("lines[{index}].{name}");
        if line.codes.len() > max_items("lines[].codes") {
            return Err(DteError::refused(Message::too_many(field("codes"), max_items("lines[].codes"))));
        }
        for (code_index, code) in line.codes.iter_mut().enumerate() {
            clean_required(&field(&format!("codes[{code_index}].kind")), &mut code.kind)?;
            clean_required(&field(&format!("codes[{code_index}].value")), &mut code.value)?;
        }
        if document_type == DteType::FacturaExenta && !line.exempt {
            return Err(DteError::refused(Message::exempt_only(field("exempt"))));
        }
        clean_required(&field("name"), &mut line.name)?;
        clean_optional(&field("description"), &mut line.description)?;
        clean_optional(&field("unit"), &mut line.unit)?;
        if let Some(quantity) = &line.quantity {
            check_quantity_like(&field("quantity"), quantity)?;
        }
        if let Some(price) = &line.unit_price {
            check_quantity_like(&field("unit_price"), price)?;
        }
        check_amount(&field("amount"), line.amount)?;
        check_line_adjustment(
            &field("discount_percent"),
            &field("discount_amount"),
            line.discount_percent.as_ref(),
            line.discount_amount,
        )?;
        check_line_adjustment(
            &field("surcharge_percent"),
            &field("surcharge_amount"),
            line.surcharge_percent.as_ref(),
            line.surcharge_amount,
        )?;
        check_line_arithmetic(index, line)?;
    }
    Ok(())
}

fn check_line_adjustment(
    percent_field: &str,
    amount_field: &str,
    percent: Option<&Decimal>,
    amount: Option<i64>,
) -> DteResult<()> {
    if let Some(percent) = percent {
        check_percent(percent_field, percent)?;
        if amount.is_none() {
            return Err(DteError::refused(Message::required_with(amount_field, percent_field)));
        }
    }
    if let Some(amount) = amount {
        if amount <= 0 {
            return Err(DteError::refused(Message::positive_when_given(amount_field)));
        }
        check_amount(amount_field, amount)?;
    }
    Ok(())
}

/// `MontoItem = round(QtyItem × PrcItem) − DescuentoMonto + RecargoMonto`, and each amount is
/// its percentage of the gross amount when a percentage is given.
fn check_line_arithmetic(index: usize, line: &Line) -> DteResult<()> {
    let field = |name: &str| format!("lines[{index}].{name}");
    let (Some(quantity), Some(price)) = (&line.quantity, &line.unit_price) else {
        return Ok(());
    };
    let gross = quantity.mul_round(price).ok_or_else(|| DteError::refused(Message::too_large(field("unit_price"))))?;
    for (percent, amount, name) in [
        (&line.discount_percent, line.discount_amount, "discount_amount"),
        (&line.surcharge_percent, line.surcharge_amount, "surcharge_amount"),
    ] {
        if let (Some(percent), Some(amount)) = (percent, amount) {
            let expected =
                percent.percent_of(gross).ok_or_else(|| DteError::refused(Message::too_large(field(name))))?;
            if i128::from(amount) != expected {
                return Err(DteError::refused(Message::percent_amount(
                    field(name),
                    expected.to_string(),
                    percent.to_string(),
                    gross.to_string(),
                    amount,
                )));
            }
        }
    }
    let expected =
        gross - i128::from(line.discount_amount.unwrap_or(0)) + i128::from(line.surcharge_amount.unwrap_or(0));
    if i128::from(line.amount) != expected {
        return Err(DteError::refused(Message::line_amount(
            field("amount"),
            expected.to_string(),
            quantity.to_string(),
            price.to_string(),
            line.amount,
        )));
    }
    Ok(())
}

fn check_adjustments(adjustments: &mut [GlobalAdjustment]) -> DteResult<()> {
    if adjustments.len() > max_items("global_adjustments") {
        return Err(DteError::refused(Message::too_many("global_adjustments", max_items("global_adjustments"))));
    }
    for (index, adjustment) in adjustments.iter_mut().enumerate() {
        let field = |name: &str| format!("global_adjustments[{index}].{name}");
        clean_optional(&field("description"), &mut adjustment.description)?;
        match adjustment.unit {
            AdjustmentUnit::Percent => check_percent(&field("value"), &adjustment.value)?,
            AdjustmentUnit::Amount => {
                let amount = adjustment.value.as_integer().filter(|amount| *amount > 0);
                if amount.is_none() {
                    return Err(DteError::refused(Message::not_peso_amount(
                        field("value"),
                        adjustment.value.to_string(),
                    )));
                }
            }
        }
    }
    Ok(())
}

fn check_references(document_type: DteType, references: &mut [Reference]) -> DteResult<()> {
    if references.len() > max_items("references") {
        return Err(DteError::refused(Message::too_many("references", max_items("references"))));
    }
    for (index, reference) in references.iter_mut().enumerate() {
        let field = |name: &str| format!("references[{index}].{name}");
        clean_required(&field("document_type"), &mut reference.document_type)?;
        clean_required(&field("folio"), &mut reference.folio)?;
        if let Some(rut) = &reference.other_rut {
            reference.other_rut = Some(parse_rut(&field("other_rut"), rut)?.to_string());
        }
        check_date(&field("date"), reference.date)?;
        if let Some(code) = reference.code {
            if !(1..=3).contains(&code) {
                return Err(DteError::refused(Message::field_range(field("code"), 1, 3)));
            }
        }
        clean_optional(&field("reason"), &mut reference.reason)?;
    }
    if document_type.needs_reference() && !references.iter().any(|reference| reference.code.is_some()) {
        return Err(DteError::refused(Message::needs_reference("references", document_type.as_str())));
    }
    Ok(())
}

fn compute_totals(request: &DteRequest) -> DteResult<ComputedTotals> {
    let sum_lines = |exempt: bool| -> i128 {
        request.lines.iter().filter(|line| line.exempt == exempt).map(|line| i128::from(line.amount)).sum()
    };
    let taxable_lines = sum_lines(false);
    let exempt_lines = sum_lines(true);
    let mut net = taxable_lines;
    let mut exempt = exempt_lines;
    for (index, adjustment) in request.global_adjustments.iter().enumerate() {
        let base = match adjustment.applies_to {
            AppliesTo::Taxable => taxable_lines,
            AppliesTo::Exempt => exempt_lines,
        };
        // Each percentage applies to the line sum, not to the result of earlier adjustments.
        let amount = match adjustment.unit {
            AdjustmentUnit::Percent => adjustment.value.percent_of(base),
            AdjustmentUnit::Amount => adjustment.value.as_integer().map(i128::from),
        }
        .ok_or_else(|| DteError::refused(Message::too_large(format!("global_adjustments[{index}].value"))))?;
        let signed = match adjustment.kind {
            AdjustmentKind::Discount => -amount,
            AdjustmentKind::Surcharge => amount,
        };
        match adjustment.applies_to {
            AppliesTo::Taxable => net += signed,
            AppliesTo::Exempt => exempt += signed,
        }
    }
    let to_amount = |field: &str, value: i128| -> DteResult<i64> {
        i64::try_from(value)
            .ok()
            .filter(|amount| (0..=MAX_AMOUNT).contains(amount))
            .ok_or_else(|| DteError::refused(Message::totals_out_of_range(field, value.to_string())))
    };
    let net = to_amount("totals.net", net)?;
    let exempt = to_amount("totals.exempt", exempt)?;
    let iva =
        to_amount("totals.iva", super::text::round_half_up_div(i128::from(net) * i128::from(IVA_RATE_PERCENT), 100))?;
    let total = to_amount("totals.total", i128::from(net) + i128::from(exempt) + i128::from(iva))?;
    Ok(ComputedTotals { net, exempt, iva, total })
}

fn compare_totals(document_type: DteType, given: &Totals, computed: &ComputedTotals) -> DteResult<()> {
    if document_type == DteType::FacturaExenta && computed.net > 0 {
        return Err(DteError::refused(Message::exempt_no_net("totals.net")));
    }
    let compare = |field: &str, given: Option<i64>, expected: i64| -> DteResult<()> {
        match given {
            Some(value) if value == expected => Ok(()),
            None if expected == 0 => Ok(()),
            Some(value) => Err(DteError::refused(Message::expected_got(field, expected, value))),
            None => Err(DteError::refused(Message::expected_missing(field, expected))),
        }
    };
    compare("totals.net", given.net, computed.net)?;
    compare("totals.exempt", given.exempt, computed.exempt)?;
    compare("totals.iva", given.iva, computed.iva)?;
    compare("totals.total", Some(given.total), computed.total)?;
    if let Some(rate) = &given.iva_rate {
        if *rate != Decimal::from_integer(IVA_RATE_PERCENT) {
            return Err(DteError::refused(Message::expected_got(
                "totals.iva_rate",
                IVA_RATE_PERCENT,
                rate.to_string(),
            )));
        }
    }
    Ok(())
}
