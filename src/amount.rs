//! Money as a type: fixed-scale decimal amounts, parsed exactly and never rounded silently.
//!
//! An [`Amount`] holds a signed number of minor units (fen, 1/100) in an `i128`. Every asset of
//! the ledger has scale 2, so one representation serves both `CNY` and `CPN`. There are no `+`/`-`
//! operators: arithmetic goes through `checked_*` methods that return a `Result`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Minor units per major unit (scale 2).
const MINOR_PER_UNIT: i128 = 100;
/// Inputs must stay below 10^12 major units.
pub const AMOUNT_INPUT_LIMIT_MINOR: i128 = 1_000_000_000_000 * MINOR_PER_UNIT;
/// Decimal places accepted for money inputs.
pub const AMOUNT_SCALE: u32 = 2;
/// Decimal places accepted for usage inputs (`consume`).
pub const USAGE_SCALE: u32 = 8;

/// A signed amount of an asset, in minor units (scale 2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Amount(i128);

/// Why an amount string was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AmountError(pub &'static str);

/// An arithmetic result left the range of `i128` minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("amount arithmetic overflowed")]
pub struct Overflow;

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(0);

    /// An amount of `minor` minor units (fen).
    pub const fn from_minor(minor: i128) -> Amount {
        Amount(minor)
    }

    /// The amount in minor units (fen).
    pub const fn minor(self) -> i128 {
        self.0
    }

    /// Parses a strictly positive amount: plain decimal, at most 2 decimal places, below 10^12.
    ///
    /// # Errors
    /// [`AmountError`] for anything else: signs, exponents, spaces, too many decimals, zero, too large.
    pub fn parse_positive(text: &str) -> Result<Amount, AmountError> {
        let amount = Self::parse_non_negative(text)?;
        if amount.0 == 0 {
            return Err(AmountError("amount must be greater than zero"));
        }
        Ok(amount)
    }

    /// Parses an amount that may be zero (a credit limit): otherwise the same rules as
    /// [`Amount::parse_positive`].
    ///
    /// # Errors
    /// [`AmountError`] when the text is not a plain decimal with at most 2 places below 10^12.
    pub fn parse_non_negative(text: &str) -> Result<Amount, AmountError> {
        let (units, fraction) = parse_decimal(text, AMOUNT_SCALE)?;
        Ok(Amount(units * MINOR_PER_UNIT + fraction))
    }

    /// Parses a usage amount with up to 8 decimal places and truncates it to the fen.
    /// Returns the deduction and the cut-off part in units of 10^-8 (`erase_amount`).
    ///
    /// # Errors
    /// [`AmountError`] when malformed, or when the deduction is below 0.01.
    pub fn parse_usage(text: &str) -> Result<(Amount, i128), AmountError> {
        let (units, fraction) = parse_decimal(text, USAGE_SCALE)?;
        let per_fen = 10i128.pow(USAGE_SCALE - AMOUNT_SCALE);
        let deduction = Amount(units * MINOR_PER_UNIT + fraction / per_fen);
        if deduction.0 == 0 {
            return Err(AmountError("usage deduction is below 0.01"));
        }
        Ok((deduction, fraction % per_fen))
    }

    /// `self + other`.
    ///
    /// # Errors
    /// [`Overflow`] when the sum leaves the `i128` range.
    pub fn checked_add(self, other: Amount) -> Result<Amount, Overflow> {
        self.0.checked_add(other.0).map(Amount).ok_or(Overflow)
    }

    /// `self - other`.
    ///
    /// # Errors
    /// [`Overflow`] when the difference leaves the `i128` range.
    pub fn checked_sub(self, other: Amount) -> Result<Amount, Overflow> {
        self.0.checked_sub(other.0).map(Amount).ok_or(Overflow)
    }

    /// `-self`.
    ///
    /// # Errors
    /// [`Overflow`] for `i128::MIN`.
    pub fn checked_neg(self) -> Result<Amount, Overflow> {
        self.0.checked_neg().map(Amount).ok_or(Overflow)
    }

    /// The smaller of two amounts.
    pub fn min(self, other: Amount) -> Amount {
        Amount(self.0.min(other.0))
    }

    /// True when strictly above zero.
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// True when strictly below zero.
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// True when zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

/// Splits a plain decimal into integer units and a fraction scaled to `scale` digits.
fn parse_decimal(text: &str, scale: u32) -> Result<(i128, i128), AmountError> {
    let (integer, fraction) = match text.split_once('.') {
        Some((integer, fraction)) => (integer, Some(fraction)),
        None => (text, None),
    };
    if integer.is_empty() || !integer.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AmountError("amount must be a plain decimal string such as \"100.50\""));
    }
    let fraction = fraction.unwrap_or("");
    if text.ends_with('.') || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AmountError("amount must be a plain decimal string such as \"100.50\""));
    }
    if fraction.len() > scale as usize {
        return Err(if scale == AMOUNT_SCALE {
            AmountError("amount has more than 2 decimal places")
        } else {
            AmountError("usage amount has more than 8 decimal places")
        });
    }
    let integer = integer.trim_start_matches('0');
    // 10^12 has 13 digits: anything with more integer digits is out of range before parsing.
    if integer.len() > 12 {
        return Err(AmountError("amount must be below 1000000000000"));
    }
    let units: i128 = if integer.is_empty() { 0 } else { integer.parse().map_err(|_| AmountError("amount is not a number"))? };
    if units >= 1_000_000_000_000 {
        return Err(AmountError("amount must be below 1000000000000"));
    }
    let mut scaled: i128 = 0;
    for position in 0..scale as usize {
        let digit = fraction.as_bytes().get(position).map_or(0, |b| i128::from(b - b'0'));
        scaled = scaled * 10 + digit;
    }
    Ok((units, scaled))
}

impl fmt::Display for Amount {
    /// Always exactly 2 decimal places: `"0.00"`, `"-12.30"`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        write!(formatter, "{sign}{}.{:02}", magnitude / 100, magnitude % 100)
    }
}

/// A share of an amount, `0.01` to `1` in hundredths (SPEC 1.2): a pickup voucher's largest share
/// of an order, or the share of the official price a discount charges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Ratio(u8);

impl TryFrom<u8> for Ratio {
    type Error = AmountError;

    /// A stored ratio is checked like a parsed one: a tampered record cannot hold 0 or above 1.
    fn try_from(hundredths: u8) -> Result<Ratio, AmountError> {
        Ratio::from_hundredths(hundredths).ok_or(AmountError("ratio must be from 0.01 to 1"))
    }
}

impl From<Ratio> for u8 {
    fn from(ratio: Ratio) -> u8 {
        ratio.0
    }
}

impl Ratio {
    /// The whole amount (`"1"`).
    pub const ONE: Ratio = Ratio(100);

    /// A ratio of `hundredths`/100, when it is 1 to 100.
    pub fn from_hundredths(hundredths: u8) -> Option<Ratio> {
        (1..=100).contains(&hundredths).then_some(Ratio(hundredths))
    }

    /// The ratio in hundredths (1 to 100).
    pub fn hundredths(self) -> u8 {
        self.0
    }

    /// Parses `"0.01"` to `"1"` with at most 2 decimal places.
    ///
    /// # Errors
    /// [`AmountError`] for anything else: signs, exponents, spaces, more places, zero, above 1.
    pub fn parse(text: &str) -> Result<Ratio, AmountError> {
        let (units, fraction) = parse_decimal(text, AMOUNT_SCALE)?;
        let hundredths = units * MINOR_PER_UNIT + fraction;
        u8::try_from(hundredths).ok().and_then(Ratio::from_hundredths).ok_or(AmountError("ratio must be from 0.01 to 1"))
    }

    /// `floor_fen(self × amount)` for a non-negative amount.
    pub fn share_of(self, amount: Amount) -> Amount {
        Amount(amount.0 * i128::from(self.0) / MINOR_PER_UNIT)
    }
}

impl fmt::Display for Ratio {
    /// Two decimal places: `"0.85"`, `"1.00"`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// Formats a usage cut below the fen (units of 10^-8) with exactly 8 decimal places.
pub fn format_erase(erase: i128) -> String {
    let sign = if erase < 0 { "-" } else { "" };
    let magnitude = erase.unsigned_abs();
    format!("{sign}{}.{:08}", magnitude / 100_000_000, magnitude % 100_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_are_hundredths_from_one_to_a_hundred() {
        assert_eq!(Ratio::parse("0.85").unwrap().hundredths(), 85);
        assert_eq!(Ratio::parse("1").unwrap(), Ratio::ONE);
        assert_eq!(Ratio::parse("1.00").unwrap(), Ratio::ONE);
        assert_eq!(Ratio::parse("0.01").unwrap().to_string(), "0.01");
        assert_eq!(Ratio::parse("0.5").unwrap().to_string(), "0.50");
        for bad in ["0", "0.00", "1.01", "2", "0.001", "-0.5", "+0.5", ".5", "0.5 ", "1e-1", ""] {
            assert!(Ratio::parse(bad).is_err(), "{bad:?}");
        }
        // floor_fen: 0.85 of 10.01 is 8.5085, floored to 8.50.
        assert_eq!(Ratio::parse("0.85").unwrap().share_of(Amount::from_minor(1001)), Amount::from_minor(850));
        assert_eq!(Ratio::ONE.share_of(Amount::from_minor(1001)), Amount::from_minor(1001));
        // Stored ratios are checked when read back.
        assert!(Ratio::try_from(0).is_err() && Ratio::try_from(101).is_err());
        assert_eq!(postcard::from_bytes::<Ratio>(&postcard::to_stdvec(&Ratio::ONE).unwrap()).unwrap(), Ratio::ONE);
        assert!(postcard::from_bytes::<Ratio>(&[0]).is_err());
    }

    #[test]
    fn parses_plain_decimals_exactly() {
        assert_eq!(Amount::parse_positive("100").unwrap().minor(), 10_000);
        assert_eq!(Amount::parse_positive("100.5").unwrap().minor(), 10_050);
        assert_eq!(Amount::parse_positive("100.50").unwrap().minor(), 10_050);
        assert_eq!(Amount::parse_positive("0.01").unwrap().minor(), 1);
        assert_eq!(Amount::parse_positive("999999999999.99").unwrap().minor(), 99_999_999_999_999);
        assert_eq!(Amount::parse_non_negative("0").unwrap(), Amount::ZERO);
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "0",
            "0.00",
            "-1",
            "+1",
            "1e3",
            "1E3",
            " 1",
            "1 ",
            "1.",
            ".5",
            "1.001",
            "1.000",
            "1000000000000",
            "1000000000000.00",
            "99999999999999999999999999999999999999999",
            "1,5",
            "NaN",
            "inf",
            "0x10",
            "１",
            "1..2",
            "1.2.3",
        ] {
            assert!(Amount::parse_positive(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(Amount::parse_non_negative("-0").is_err());
    }

    #[test]
    fn usage_truncates_to_the_fen_and_reports_the_cut() {
        let (deduction, erase) = Amount::parse_usage("1.23456789").unwrap();
        assert_eq!(deduction.minor(), 123);
        assert_eq!(format_erase(erase), "0.00456789");
        assert!(Amount::parse_usage("0.00999999").is_err());
        assert!(Amount::parse_usage("1.123456789").is_err());
    }

    #[test]
    fn displays_two_places() {
        assert_eq!(Amount::ZERO.to_string(), "0.00");
        assert_eq!(Amount::from_minor(-1230).to_string(), "-12.30");
        assert_eq!(Amount::from_minor(5).to_string(), "0.05");
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(Amount::from_minor(i128::MAX).checked_add(Amount::from_minor(1)), Err(Overflow));
        assert_eq!(Amount::from_minor(3).checked_sub(Amount::from_minor(5)).unwrap().minor(), -2);
    }
}
