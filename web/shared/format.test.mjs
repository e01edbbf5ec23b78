// Tests of the shared formatting helpers (web POS and portal). Run with `node --test web/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  minorToDecimal, decimalToMinor, currencyExponent, formatMoney, normalizeEnrollmentCode,
  reasonLabel, formatAgo,
} from './format.js';

test('minor units become exact decimal strings', () => {
  assert.equal(minorToDecimal(123450, 2), '1234.50');
  assert.equal(minorToDecimal(5, 2), '0.05');
  assert.equal(minorToDecimal(-5, 2), '-0.05');
  assert.equal(minorToDecimal(900719925474099, 2), '9007199254740.99');
  assert.equal(minorToDecimal(1500, 0), '1500');
  assert.equal(minorToDecimal(1500, 3), '1.500');
});

test('currency exponents come from Intl', () => {
  assert.equal(currencyExponent('SEK'), 2);
  assert.equal(currencyExponent('JPY'), 0);
  assert.equal(currencyExponent('KWD'), 3);
});

test('typed amounts parse to minor units without float error', () => {
  assert.equal(decimalToMinor('12.5', 'SEK'), 1250);
  assert.equal(decimalToMinor('12,50', 'SEK'), 1250);
  assert.equal(decimalToMinor('0.1', 'EUR'), 10);
  assert.equal(decimalToMinor('1 234,50', 'SEK'), 123450);
  assert.equal(decimalToMinor('1,234.50', 'USD'), 123450);
  assert.equal(decimalToMinor('1.234,50', 'EUR'), 123450);
  assert.equal(decimalToMinor('1,234', 'USD'), 123400, 'a three-digit group is thousands');
  assert.equal(decimalToMinor('100', 'JPY'), 100);
  assert.equal(decimalToMinor('1.5', 'JPY'), null, 'no decimals in JPY');
  assert.equal(decimalToMinor('1.234', 'KWD'), 1234);
  assert.equal(decimalToMinor('12.345', 'SEK'), 1234500, 'read as a thousands group');
  assert.equal(decimalToMinor('12.3456', 'SEK'), null);
  assert.equal(decimalToMinor('', 'SEK'), null);
  assert.equal(decimalToMinor('abc', 'SEK'), null);
  assert.equal(decimalToMinor('-3', 'SEK'), -300);
  assert.equal(decimalToMinor('99999999999999999999', 'SEK'), null, 'beyond a safe integer');
});

test('formatMoney and decimalToMinor round-trip', () => {
  for (const [minor, cur] of [[123450, 'SEK'], [5, 'EUR'], [1500, 'JPY'], [1, 'KWD']]) {
    assert.equal(decimalToMinor(minorToDecimal(minor, currencyExponent(cur)), cur), minor);
    assert.ok(formatMoney(minor, cur).length > 0);
  }
});

test('enrollment codes are normalized as typed', () => {
  assert.equal(normalizeEnrollmentCode(' k7qxm 4tnwp '), 'K7QXM-4TNWP');
  assert.equal(normalizeEnrollmentCode('K7QXM-4TNWP'), 'K7QXM-4TNWP');
  assert.equal(normalizeEnrollmentCode(''), '');
});

test('labels and relative times', () => {
  assert.equal(reasonLabel('INSUFFICIENT_FUNDS'), 'Insufficient funds');
  assert.equal(reasonLabel('SOMETHING_NEW'), 'Something new');
  const now = Date.parse('2026-01-01T12:00:00Z');
  assert.equal(formatAgo('2026-01-01T11:59:50Z', now), 'just now');
  assert.equal(formatAgo('2026-01-01T11:55:00Z', now), '5 min ago');
  assert.equal(formatAgo('2026-01-01T09:00:00Z', now), '3 h ago');
});
