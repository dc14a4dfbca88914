//! The boolean expression of a policy group (`a() && (b() || !c())`): Kubewarden's group
//! expressions restricted to what a group needs, parsed once at start-up and evaluated per request.
//!
//! Grammar, loosest first: `||`, then `&&`, then `!`; parentheses group; an operand is a member
//! called by name with no arguments (`name()`) or `true`/`false`. Evaluation goes left to right and
//! short-circuits as the operators say: in `a() || b()`, `b` is called only when `a` said no.

use std::collections::BTreeSet;

use crate::error::EvaluatorError;

/// How deep parentheses and `!` may nest: far beyond any real group, well within the stack.
const MAX_DEPTH: usize = 64;

/// How many tokens an expression may have, which bounds the depth of a chain of `&&` or `||`
/// (evaluated and dropped recursively) as well.
const MAX_TOKENS: usize = 1024;

/// A parsed group expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expression {
    /// `true` or `false`.
    Literal(bool),
    /// `name()`: the verdict of the member `name`.
    Call(String),
    /// `!operand`.
    Not(Box<Expression>),
    /// `left && right`.
    And(Box<Expression>, Box<Expression>),
    /// `left || right`.
    Or(Box<Expression>, Box<Expression>),
}

impl Expression {
    /// Parses `text`; an error gives the column (counted in characters from 1) and what was expected.
    pub fn parse(text: &str) -> Result<Expression, EvaluatorError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser {
            tokens: &tokens,
            next: 0,
            end: text.chars().count() + 1,
        };
        let expression = parser.or(0)?;
        match parser.peek() {
            None => Ok(expression),
            Some(token) => Err(parser.unexpected(token, "`&&`, `||` or the end")),
        }
    }

    /// The members the expression calls.
    pub fn members(&self) -> BTreeSet<&str> {
        let mut members = BTreeSet::new();
        self.collect_members(&mut members);
        members
    }

    fn collect_members<'a>(&'a self, members: &mut BTreeSet<&'a str>) {
        match self {
            Expression::Literal(_) => {}
            Expression::Call(name) => {
                members.insert(name);
            }
            Expression::Not(operand) => operand.collect_members(members),
            Expression::And(left, right) | Expression::Or(left, right) => {
                left.collect_members(members);
                right.collect_members(members);
            }
        }
    }

    /// The expression's value, asking `call` for each member's verdict only when the value still
    /// depends on it.
    pub fn evaluate(&self, call: &mut impl FnMut(&str) -> bool) -> bool {
        match self {
            Expression::Literal(value) => *value,
            Expression::Call(name) => call(name),
            Expression::Not(operand) => !operand.evaluate(call),
            Expression::And(left, right) => left.evaluate(call) && right.evaluate(call),
            Expression::Or(left, right) => left.evaluate(call) || right.evaluate(call),
        }
    }
}

/// A token and the column it starts at.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    kind: TokenKind,
    column: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TokenKind {
    Name(String),
    Open,
    Close,
    Not,
    And,
    Or,
}

impl TokenKind {
    fn describe(&self) -> String {
        match self {
            TokenKind::Name(name) => format!("`{name}`"),
            TokenKind::Open => "`(`".into(),
            TokenKind::Close => "`)`".into(),
            TokenKind::Not => "`!`".into(),
            TokenKind::And => "`&&`".into(),
            TokenKind::Or => "`||`".into(),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, EvaluatorError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while let Some(&current) = chars.get(at) {
        let column = at + 1;
        let (kind, length) = match (current, chars.get(at + 1)) {
            (c, _) if c.is_whitespace() => {
                at += 1;
                continue;
            }
            ('(', _) => (TokenKind::Open, 1),
            (')', _) => (TokenKind::Close, 1),
            ('!', _) => (TokenKind::Not, 1),
            ('&', Some('&')) => (TokenKind::And, 2),
            ('|', Some('|')) => (TokenKind::Or, 2),
            (c, _) if c == '_' || c.is_ascii_alphabetic() => {
                let length = chars[at..]
                    .iter()
                    .take_while(|c| **c == '_' || c.is_ascii_alphanumeric())
                    .count();
                let name = chars[at..at + length].iter().collect();
                (TokenKind::Name(name), length)
            }
            (c, _) => {
                return Err(syntax(
                    column,
                    format!(
                        "unexpected `{c}` (an expression has member calls like `name()`, `true`, `false`, `!`, `&&`, `||` and parentheses)"
                    ),
                ));
            }
        };
        if tokens.len() == MAX_TOKENS {
            return Err(syntax(
                column,
                format!("the expression is longer than {MAX_TOKENS} tokens"),
            ));
        }
        tokens.push(Token { kind, column });
        at += length;
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: &'a [Token],
    next: usize,
    /// The column just past the text, where "the end" is reported.
    end: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        let found = self.peek().is_some_and(|token| token.kind == *kind);
        if found {
            self.next += 1;
        }
        found
    }

    fn or(&mut self, depth: usize) -> Result<Expression, EvaluatorError> {
        let mut left = self.and(depth)?;
        while self.eat(&TokenKind::Or) {
            left = Expression::Or(Box::new(left), Box::new(self.and(depth)?));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Expression, EvaluatorError> {
        let mut left = self.unary(depth)?;
        while self.eat(&TokenKind::And) {
            left = Expression::And(Box::new(left), Box::new(self.unary(depth)?));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Expression, EvaluatorError> {
        if depth > MAX_DEPTH {
            let column = self.peek().map_or(self.end, |token| token.column);
            return Err(syntax(
                column,
                format!("nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        let Some(token) = self.peek().cloned() else {
            return Err(syntax(
                self.end,
                "expected a member call like `name()`, `true`, `false`, `!` or `(`, found the end"
                    .into(),
            ));
        };
        self.next += 1;
        match token.kind {
            TokenKind::Not => Ok(Expression::Not(Box::new(self.unary(depth + 1)?))),
            TokenKind::Open => {
                let inner = self.or(depth + 1)?;
                if self.eat(&TokenKind::Close) {
                    Ok(inner)
                } else {
                    Err(self.unexpected_next(&format!(
                        "`)` closing the `(` at column {}",
                        token.column
                    )))
                }
            }
            TokenKind::Name(name) if name == "true" => Ok(Expression::Literal(true)),
            TokenKind::Name(name) if name == "false" => Ok(Expression::Literal(false)),
            TokenKind::Name(name) => {
                if self.eat(&TokenKind::Open) && self.eat(&TokenKind::Close) {
                    Ok(Expression::Call(name))
                } else {
                    Err(syntax(
                        token.column,
                        format!("`{name}` must be called with no arguments: `{name}()`"),
                    ))
                }
            }
            _ => Err(self.unexpected(
                &token,
                "a member call like `name()`, `true`, `false`, `!` or `(`",
            )),
        }
    }

    fn unexpected(&self, token: &Token, expected: &str) -> EvaluatorError {
        syntax(
            token.column,
            format!("expected {expected}, found {}", token.kind.describe()),
        )
    }

    fn unexpected_next(&self, expected: &str) -> EvaluatorError {
        match self.peek() {
            Some(token) => self.unexpected(token, expected),
            None => syntax(self.end, format!("expected {expected}, found the end")),
        }
    }
}

fn syntax(column: usize, problem: String) -> EvaluatorError {
    EvaluatorError::Config(format!("column {column}: {problem}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Evaluates `text` with members named by their verdict (`yes`, `no`, `yes2`…), returning the
    /// value and the members called, in order.
    fn run(text: &str) -> (bool, Vec<String>) {
        let expression = Expression::parse(text).unwrap();
        let mut called = Vec::new();
        let value = expression.evaluate(&mut |name: &str| {
            called.push(name.to_string());
            name.starts_with("yes")
        });
        (value, called)
    }

    #[test]
    fn follows_precedence_and_parentheses() {
        for (text, expected) in [
            ("true", true),
            ("false", false),
            ("yes()", true),
            ("!yes()", false),
            ("!!yes()", true),
            ("no() || yes() && no()", false),
            ("(no() || yes()) && no()", false),
            ("yes() || no() && no()", true),
            ("(yes() || no()) && no()", false),
            ("!no() && yes()", true),
            ("!(no() || yes())", false),
            ("no() && no() || yes()", true),
            ("no() && (no() || yes())", false),
            ("  yes( )\n&&\t( yes2() )", true),
        ] {
            assert_eq!(run(text).0, expected, "{text}");
        }
    }

    #[test]
    fn calls_a_member_only_when_the_value_depends_on_it() {
        assert_eq!(run("yes() || no()"), (true, vec!["yes".into()]));
        assert_eq!(run("no() && yes()"), (false, vec!["no".into()]));
        assert_eq!(
            run("no() || (yes() && !no2()) || yes2()"),
            (true, vec!["no".into(), "yes".into(), "no2".into()])
        );
        assert_eq!(run("false && yes()"), (false, vec![]));
        assert_eq!(run("true || no()"), (true, vec![]));
    }

    #[test]
    fn lists_the_members_called() {
        let expression = Expression::parse("a() && (b() || !c()) || a()").unwrap();
        assert_eq!(
            expression.members().into_iter().collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn names_the_column_and_the_problem() {
        let deep = format!("{}a(){}", "(".repeat(100), ")".repeat(100));
        let long = vec!["a()"; 300].join(" && ");
        for (text, expected) in [
            (
                "",
                "column 1: expected a member call like `name()`, `true`, `false`, `!` or `(`, found the end",
            ),
            ("a() &&", "column 7: expected a member call"),
            ("a() & b()", "column 5: unexpected `&`"),
            ("a() | b()", "column 5: unexpected `|`"),
            ("a", "column 1: `a` must be called with no arguments: `a()`"),
            ("a(b())", "column 1: `a` must be called with no arguments"),
            (
                "a() b()",
                "column 5: expected `&&`, `||` or the end, found `b`",
            ),
            (
                "(a() || b()",
                "column 12: expected `)` closing the `(` at column 1, found the end",
            ),
            (
                "a())",
                "column 4: expected `&&`, `||` or the end, found `)`",
            ),
            (
                "&& a()",
                "column 1: expected a member call like `name()`, `true`, `false`, `!` or `(`, found `&&`",
            ),
            ("1 + 1", "column 1: unexpected `1`"),
            ("a() == b()", "column 5: unexpected `=`"),
            ("é()", "column 1: unexpected `é`"),
            (deep.as_str(), "nested more than 64 levels deep"),
            (
                long.as_str(),
                "column 1793: the expression is longer than 1024 tokens",
            ),
        ] {
            match Expression::parse(text) {
                Err(EvaluatorError::Config(message)) => {
                    assert!(message.contains(expected), "{text:?}: {message}")
                }
                other => panic!("{text:?}: expected an error, got {other:?}"),
            }
        }
    }
}
