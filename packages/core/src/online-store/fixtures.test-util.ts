// Shared by the online store specs: one transaction of a customer, overridden field by field.
import type { FeatureInput } from '../feature-kernel/kernel';

export const baseInput: FeatureInput = {
  customer_key: 'a'.repeat(64),
  account_cohort: '201405',
  city: 'SAO PAULO',
  state: 'SP',
  age: 37,
  sex: 'F',
  credit_limit: 1000,
  available_limit: 500,
  date: '2020-01-04',
  amount: 31,
  merchant_group: 'VESTUARIO',
  merchant_city: 'SAO PAULO',
  merchant_country: 'BR',
};
