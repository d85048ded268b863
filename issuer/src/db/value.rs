//! The values that cross between the issuer and either database engine: one small set of
//! types (integer, text, bytes, null) that SQLite stores natively and PostgreSQL holds as
//! BIGINT, TEXT and BYTEA, so every query is written once for both.

use super::DbError;

/// One SQL value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// NULL.
    Null,
    /// An integer (SQLite INTEGER, PostgreSQL BIGINT/INTEGER/SMALLINT/BOOLEAN).
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes (SQLite BLOB, PostgreSQL BYTEA).
    Blob(Vec<u8>),
}

/// A Rust value that can be a query parameter.
pub(crate) trait ToValue {
    /// The value, or an error when it does not fit (a u64 beyond i64).
    fn to_value(&self) -> Result<Value, DbError>;
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Result<Value, DbError> {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Result<Value, DbError> {
        self.as_ref().map_or(Ok(Value::Null), ToValue::to_value)
    }
}

macro_rules! int_to_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Result<Value, DbError> {
                i64::try_from(*self).map(Value::Int).map_err(|_| DbError::Range)
            }
        }
    )*};
}
int_to_value!(i64, i32, u32, u64, usize, u16, u8);

impl ToValue for bool {
    fn to_value(&self) -> Result<Value, DbError> {
        Ok(Value::Int(i64::from(*self)))
    }
}

impl ToValue for str {
    fn to_value(&self) -> Result<Value, DbError> {
        Ok(Value::Text(self.to_owned()))
    }
}

impl ToValue for String {
    fn to_value(&self) -> Result<Value, DbError> {
        Ok(Value::Text(self.clone()))
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> Result<Value, DbError> {
        Ok(Value::Blob(self.to_vec()))
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> Result<Value, DbError> {
        Ok(Value::Blob(self.clone()))
    }
}

impl<const N: usize> ToValue for [u8; N] {
    fn to_value(&self) -> Result<Value, DbError> {
        Ok(Value::Blob(self.to_vec()))
    }
}

impl ToValue for Value {
    fn to_value(&self) -> Result<Value, DbError> {
        Ok(self.clone())
    }
}

/// A Rust value a column can be read as.
pub(crate) trait FromValue: Sized {
    /// The value, or [`DbError::Type`] when the column holds something else.
    fn from_value(v: Value) -> Result<Self, DbError>;
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: Value) -> Result<Self, DbError> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

macro_rules! int_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: Value) -> Result<Self, DbError> {
                match v {
                    Value::Int(i) => <$t>::try_from(i).map_err(|_| DbError::Range),
                    _ => Err(DbError::Type),
                }
            }
        }
    )*};
}
int_from_value!(i64, i32, u32, u64, usize);

impl FromValue for bool {
    fn from_value(v: Value) -> Result<Self, DbError> {
        match v {
            Value::Int(i) => Ok(i != 0),
            _ => Err(DbError::Type),
        }
    }
}

impl FromValue for String {
    fn from_value(v: Value) -> Result<Self, DbError> {
        match v {
            Value::Text(s) => Ok(s),
            _ => Err(DbError::Type),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: Value) -> Result<Self, DbError> {
        match v {
            Value::Blob(b) => Ok(b),
            _ => Err(DbError::Type),
        }
    }
}

impl<const N: usize> FromValue for [u8; N] {
    fn from_value(v: Value) -> Result<Self, DbError> {
        Vec::<u8>::from_value(v)?
            .try_into()
            .map_err(|_| DbError::Type)
    }
}

/// A row read from either engine.
#[derive(Debug)]
pub(crate) struct Row {
    pub(super) values: Vec<Value>,
}

impl Row {
    /// Column `i` (from 0) as a `T`.
    pub(crate) fn get<T: FromValue>(&self, i: usize) -> Result<T, DbError> {
        let v = self.values.get(i).cloned().ok_or(DbError::Type)?;
        T::from_value(v)
    }
}

/// Query parameters: an array of one type, or the list `params!` builds.
pub(crate) trait Params {
    /// The values, in order.
    fn values(&self) -> Result<Vec<Value>, DbError>;
}

impl<T: ToValue, const N: usize> Params for [T; N] {
    fn values(&self) -> Result<Vec<Value>, DbError> {
        self.iter().map(ToValue::to_value).collect()
    }
}

impl Params for &[&dyn ToValue] {
    fn values(&self) -> Result<Vec<Value>, DbError> {
        self.iter().map(|v| v.to_value()).collect()
    }
}

impl Params for () {
    fn values(&self) -> Result<Vec<Value>, DbError> {
        Ok(Vec::new())
    }
}

/// Query parameters of mixed types, in order.
macro_rules! params {
    () => { &[] as &[&dyn $crate::db::ToValue] };
    ($($p:expr),+ $(,)?) => { &[$(&$p as &dyn $crate::db::ToValue),+] as &[&dyn $crate::db::ToValue] };
}
pub(crate) use params;
