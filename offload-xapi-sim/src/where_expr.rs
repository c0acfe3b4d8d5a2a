//! The `get_all_records_where` expression language, as xapi's
//! `db_filter_lex.mll` / `db_filter_parse.mly` define it (research §3.3):
//!
//! ```text
//! expr  := value "=" value | expr "and" expr | expr "or" expr
//!        | "not" expr | "true" | "false" | "(" expr ")"
//! value := "<literal>" | field "<column>"
//! ```
//!
//! `and`/`or` share one precedence and associate to the left; `not` has the
//! lowest precedence (`%right LNOT` is declared before `%left LAND LOR` in
//! ocaml/database/db_filter_parse.mly), so it covers everything to its right:
//! `not A and B` is `not (A and B)`. Literals are double-quoted without escapes. Comparison is string
//! equality on the database's text form of the column.

/// A parsed expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    True,
    False,
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Eq(Operand, Operand),
}

/// One side of `=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    Literal(String),
    Field(String),
}

/// Why an expression did not parse: the OCaml exception text xapi reports
/// as the second parameter of `INVALID_VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

const PARSE_ERROR: &str = "Stdlib.Parsing.Parse_error";
const LEX_ERROR: &str = "Failure(\"lexing: empty token\")";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Str(String),
    Field,
    Equals,
    And,
    Or,
    Not,
    True,
    False,
    Open,
    Close,
}

fn lex(text: &str) -> Result<Vec<Token>, ParseError> {
    let mut tokens = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches([' ', '\t', '\n', '\r']);
        let Some(first) = rest.chars().next() else {
            return Ok(tokens);
        };
        let (token, len) = match first {
            '"' => match rest[1..].find('"') {
                Some(end) => (Token::Str(rest[1..1 + end].to_string()), end + 2),
                None => return Err(ParseError(LEX_ERROR.into())),
            },
            '=' => (Token::Equals, 1),
            '(' => (Token::Open, 1),
            ')' => (Token::Close, 1),
            _ => {
                let word_len = rest
                    .find(|c: char| !c.is_ascii_alphabetic())
                    .unwrap_or(rest.len());
                let token = match &rest[..word_len] {
                    "field" => Token::Field,
                    "and" => Token::And,
                    "or" => Token::Or,
                    "not" => Token::Not,
                    "true" => Token::True,
                    "false" => Token::False,
                    _ => return Err(ParseError(LEX_ERROR.into())),
                };
                (token, word_len)
            }
        };
        tokens.push(token);
        rest = &rest[len..];
    }
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn bump(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        loop {
            match self.peek() {
                Some(Token::And) => {
                    self.at += 1;
                    left = Expr::And(Box::new(left), Box::new(self.unary()?));
                }
                Some(Token::Or) => {
                    self.at += 1;
                    left = Expr::Or(Box::new(left), Box::new(self.unary()?));
                }
                _ => return Ok(left),
            }
        }
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        match self.bump() {
            // db_filter_parse.mly: LNOT is the lowest precedence.
            Some(Token::Not) => Ok(Expr::Not(Box::new(self.expr()?))),
            Some(Token::True) => Ok(Expr::True),
            Some(Token::False) => Ok(Expr::False),
            Some(Token::Open) => {
                let inner = self.expr()?;
                match self.bump() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err(ParseError(PARSE_ERROR.into())),
                }
            }
            Some(token) => {
                let left = self.operand(token)?;
                if self.bump() != Some(Token::Equals) {
                    return Err(ParseError(PARSE_ERROR.into()));
                }
                let next = self.bump().ok_or(ParseError(PARSE_ERROR.into()))?;
                let right = self.operand(next)?;
                Ok(Expr::Eq(left, right))
            }
            None => Err(ParseError(PARSE_ERROR.into())),
        }
    }

    fn operand(&mut self, token: Token) -> Result<Operand, ParseError> {
        match token {
            Token::Str(s) => Ok(Operand::Literal(s)),
            Token::Field => match self.bump() {
                Some(Token::Str(column)) => Ok(Operand::Field(column)),
                _ => Err(ParseError(PARSE_ERROR.into())),
            },
            _ => Err(ParseError(PARSE_ERROR.into())),
        }
    }
}

/// Parses a whole expression.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let mut parser = Parser {
        tokens: lex(text)?,
        at: 0,
    };
    let expr = parser.expr()?;
    if parser.at != parser.tokens.len() {
        return Err(ParseError(PARSE_ERROR.into()));
    }
    Ok(expr)
}

impl Expr {
    /// Evaluates against one row. `column` returns the text the database
    /// stores for a column, or `None` when the table has no such column
    /// (xapi then fails with `INTERNAL_ERROR ["missing field"; column; ""]`).
    /// Evaluation short-circuits like OCaml's `&&` / `||`.
    pub fn eval<'a>(&'a self, column: &impl Fn(&str) -> Option<String>) -> Result<bool, &'a str> {
        match self {
            Expr::True => Ok(true),
            Expr::False => Ok(false),
            Expr::Not(e) => Ok(!e.eval(column)?),
            Expr::And(a, b) => Ok(a.eval(column)? && b.eval(column)?),
            Expr::Or(a, b) => Ok(a.eval(column)? || b.eval(column)?),
            Expr::Eq(a, b) => Ok(operand(a, column)? == operand(b, column)?),
        }
    }
}

fn operand<'a>(
    op: &'a Operand,
    column: &impl Fn(&str) -> Option<String>,
) -> Result<String, &'a str> {
    match op {
        Operand::Literal(s) => Ok(s.clone()),
        Operand::Field(name) => column(name).ok_or(name.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq_field(col: &str, lit: &str) -> Expr {
        Expr::Eq(Operand::Field(col.into()), Operand::Literal(lit.into()))
    }

    #[test]
    fn and_or_are_left_associative_with_one_precedence() {
        let e = parse(r#"true or false and false"#).unwrap();
        // ((true or false) and false)
        assert_eq!(
            e,
            Expr::And(
                Box::new(Expr::Or(Box::new(Expr::True), Box::new(Expr::False))),
                Box::new(Expr::False)
            )
        );
        assert_eq!(e.eval(&|_| None), Ok(false));
    }

    #[test]
    fn not_has_the_lowest_precedence() {
        let e = parse(r#"not field "a"="1" and true"#).unwrap();
        assert_eq!(
            e,
            Expr::Not(Box::new(Expr::And(
                Box::new(eq_field("a", "1")),
                Box::new(Expr::True)
            )))
        );
        let e = parse(r#"true and not false or true"#).unwrap();
        assert_eq!(
            e,
            Expr::And(
                Box::new(Expr::True),
                Box::new(Expr::Not(Box::new(Expr::Or(
                    Box::new(Expr::False),
                    Box::new(Expr::True)
                ))))
            )
        );
        let e = parse(r#"(not field "a"="1") and true"#).unwrap();
        assert_eq!(
            e,
            Expr::And(
                Box::new(Expr::Not(Box::new(eq_field("a", "1")))),
                Box::new(Expr::True)
            )
        );
    }

    #[test]
    fn literal_on_either_side_and_parentheses() {
        let e = parse(r#"("Running" = field "power_state")"#).unwrap();
        let row = |c: &str| (c == "power_state").then(|| "Running".to_string());
        assert_eq!(e.eval(&row), Ok(true));
    }

    #[test]
    fn errors_name_the_ocaml_exception() {
        assert_eq!(parse("field").unwrap_err().0, PARSE_ERROR);
        assert_eq!(parse(r#"field "a" = "#).unwrap_err().0, PARSE_ERROR);
        assert_eq!(parse(r#""a" = "b" "c""#).unwrap_err().0, PARSE_ERROR);
        assert_eq!(parse(r#"field "a" == "b""#).unwrap_err().0, PARSE_ERROR);
        assert_eq!(parse(r#"field "a = "b"#).unwrap_err().0, LEX_ERROR);
        assert_eq!(parse("name = x").unwrap_err().0, LEX_ERROR);
        assert_eq!(parse("").unwrap_err().0, PARSE_ERROR);
    }

    #[test]
    fn missing_column_is_reported_only_when_evaluated() {
        let e = parse(r#"false and field "nope"="x""#).unwrap();
        assert_eq!(e.eval(&|_| None), Ok(false));
        let e = parse(r#"true and field "nope"="x""#).unwrap();
        assert_eq!(e.eval(&|_| None), Err("nope"));
    }
}
