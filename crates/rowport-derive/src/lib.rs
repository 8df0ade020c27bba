//! `#[derive(rowport::Resource)]`: a struct as a rowport resource and a typed row.
//!
//! Use it through the `rowport` crate, which re-exports it; this crate holds only the
//! macro. The attributes are documented on [`Resource`].
#![forbid(unsafe_code)]

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;
use syn::ext::IdentExt;
use syn::{parse_macro_input, Data, DeriveInput, Expr, Fields, Ident, LitStr, Type};

/// Derives `rowport::typed::Model` for a struct with named fields: the resource of its
/// table (`Book::resource()`, `Book::builder()`), and the conversion of a value to and
/// from a `rowport::Record`. With it, `rowport::read_all::<Book>` reads a file into
/// `Vec<Book>` and `rowport::write_all` writes `&[Book]`.
///
/// Each field becomes a resource field of the same name, stored in the table column of the
/// same name, with the widget of its Rust type (`rowport::typed::FieldType`): integers,
/// `f32`/`f64`, `Decimal`, `String`, `bool`, chrono dates and times, `serde_json::Value`,
/// `Option<T>` (an empty cell is `None`; without `Option` it is an invalid value) and
/// `Vec<T>` (comma-separated items).
///
/// # Container attributes: `#[rowport(...)]` on the struct
///
/// | attribute | meaning | default |
/// |---|---|---|
/// | `table = "library_book"` | the table | the struct's name in snake_case |
/// | `name = "book"` | the resource's name, in messages | the table |
/// | `primary_key = "book_id"` | the table's primary key column | `id` |
/// | `import_id = "isbn"`, `import_id("isbn", "edition")` | the fields that identify an existing row | the primary key's field |
///
/// # Field attributes: `#[rowport(...)]` on a field
///
/// | attribute | meaning |
/// |---|---|
/// | `column_name = "Title"` | the header in files (default: the field's name) |
/// | `attribute = "title_text"` | the table column (default: the field's name) |
/// | `widget = expr` | the widget (any `impl rowport::widgets::Widget`), instead of the type's |
/// | `default = expr` | the value an empty cell gets (an expression of the field's type) |
/// | `import_id` | this field identifies an existing row (with the others so marked) |
/// | `readonly` | exported, never imported (on a typed read it gets `Default::default()`) |
/// | `skip` | not a field at all: never read nor written; gets `Default::default()` |
///
/// ```
/// use rowport::typed::Model;
/// use rowport::widgets::DateWidget;
/// use chrono::NaiveDate;
///
/// #[derive(Debug, rowport::Resource)]
/// #[rowport(table = "library_book", import_id = "isbn")]
/// struct Book {
///     id: Option<i64>,
///     isbn: String,
///     #[rowport(column_name = "Title")]
///     title: String,
///     #[rowport(widget = DateWidget::new(vec!["%d.%m.%Y".into()]))]
///     published: Option<NaiveDate>,
///     #[rowport(default = 1)]
///     copies: u32,
///     #[rowport(readonly)]
///     loans: i64,
///     #[rowport(skip)]
///     cover: Vec<u8>,
/// }
///
/// let book = Book::resource().unwrap();
/// assert_eq!((book.name.as_str(), book.table.as_str()), ("library_book", "library_book"));
/// assert_eq!(book.import_id_fields(), ["isbn"]);
/// let headers: Vec<&str> = book.export_fields().map(|f| f.column_name.as_str()).collect();
/// assert_eq!(headers, ["id", "isbn", "Title", "published", "copies", "loans"]);
/// assert!(book.field("loans").unwrap().readonly);
/// ```
///
/// Mistakes are compile errors that say what to write instead:
///
/// ```compile_fail
/// #[derive(rowport::Resource)]
/// struct Book {
///     id: i64,
///     #[rowport(colum_name = "Title")] // unknown rowport attribute `colum_name`; expected one of …
///     title: String,
/// }
/// ```
///
/// ```compile_fail
/// #[derive(rowport::Resource)]
/// struct Note { // `Note` has no field for the primary key `id`: …
///     text: String,
/// }
/// ```
///
/// ```compile_fail
/// #[derive(rowport::Resource)]
/// struct Book {
///     id: i64,
///     cover: std::path::PathBuf, // rowport cannot hold a `PathBuf` in a field
/// }
/// ```
#[proc_macro_derive(Resource, attributes(rowport))]
pub fn derive_resource(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

const CONTAINER_KEYS: &str = "table, name, primary_key, import_id";
const FIELD_KEYS: &str = "column_name, attribute, widget, default, import_id, readonly, skip";

struct Container {
    table: Option<String>,
    name: Option<String>,
    primary_key: Option<String>,
    import_id: Option<(Vec<LitStr>, Span)>,
}

struct FieldDecl {
    ident: Ident,
    ty: Type,
    column_name: Option<String>,
    attribute: Option<String>,
    widget: Option<Expr>,
    default: Option<Expr>,
    import_id: bool,
    readonly: bool,
    skip: bool,
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let named = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => named,
            _ => {
                return Err(syn::Error::new_spanned(
                    &input.ident,
                    "#[derive(rowport::Resource)] needs a struct with named fields (each field is a column)",
                ))
            }
        },
        _ => {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "#[derive(rowport::Resource)] works on structs (each field a column), not on enums or unions",
            ))
        }
    };
    let container = parse_container(input)?;
    let fields = named
        .named
        .iter()
        .map(parse_field)
        .collect::<syn::Result<Vec<_>>>()?;

    let ident = &input.ident;
    let struct_name = ident.to_string();
    let table = container
        .table
        .clone()
        .unwrap_or_else(|| snake_case(&struct_name));
    let name = container.name.clone().unwrap_or_else(|| table.clone());
    let primary_key = container
        .primary_key
        .clone()
        .unwrap_or_else(|| "id".to_owned());
    let kept: Vec<&FieldDecl> = fields.iter().filter(|f| !f.skip).collect();
    let attribute = |f: &FieldDecl| {
        f.attribute
            .clone()
            .unwrap_or_else(|| f.ident.unraw().to_string())
    };

    // The import id: the container's list, or the marked fields; never both.
    let marked: Vec<&FieldDecl> = kept.iter().copied().filter(|f| f.import_id).collect();
    let import_id: Vec<String> = match &container.import_id {
        Some((names, span)) => {
            if let Some(f) = marked.first() {
                return Err(syn::Error::new_spanned(
                    &f.ident,
                    "the import id is declared twice: remove #[rowport(import_id)] here or import_id on the struct",
                ));
            }
            if names.is_empty() {
                return Err(syn::Error::new(*span, "import_id names no field"));
            }
            for lit in names {
                let value = lit.value();
                if !kept.iter().any(|f| f.ident.unraw() == value) {
                    let known: Vec<String> =
                        kept.iter().map(|f| f.ident.unraw().to_string()).collect();
                    return Err(syn::Error::new(
                        lit.span(),
                        format!(
                            "import_id names `{value}`, which is not a field of `{struct_name}` (fields: {})",
                            known.join(", ")
                        ),
                    ));
                }
            }
            names.iter().map(LitStr::value).collect()
        }
        None => marked.iter().map(|f| f.ident.unraw().to_string()).collect(),
    };
    if import_id.is_empty() && !kept.iter().any(|f| attribute(f) == primary_key) {
        return Err(syn::Error::new_spanned(
            ident,
            format!(
                "`{struct_name}` has no field for the primary key `{primary_key}`: add a field `{primary_key}`, \
                 name the key with #[rowport(primary_key = \"...\")], or mark the fields that identify a row \
                 with #[rowport(import_id)]"
            ),
        ));
    }

    let mut field_calls = Vec::new();
    let mut from_record = Vec::new();
    let mut write_record = Vec::new();
    let mut attributes = Vec::new();
    let mut required_arms = Vec::new();
    for f in &fields {
        let field_ident = &f.ident;
        let ty = &f.ty;
        if f.skip {
            from_record.push(quote! { #field_ident: ::core::default::Default::default() });
            continue;
        }
        let field_name = field_ident.unraw().to_string();
        let attr = attribute(f);
        let column_name = f.column_name.clone().unwrap_or_else(|| field_name.clone());
        let is_key = attr == primary_key;
        let readonly = f.readonly;
        // An empty cell is refused unless the store assigns the value (the key), the field
        // is never imported, or a default fills it; `TypedWidget` lets `Option`s through.
        let required = !is_key && !readonly && f.default.is_none();
        let widget = match &f.widget {
            Some(expr) => quote! { ::std::boxed::Box::new(#expr) },
            None => quote! { <#ty as ::rowport::typed::FieldType>::widget(false) },
        };
        let default = f.default.as_ref().map(|expr| {
            quote! {
                .default(::rowport::typed::FieldType::to_value(&{ let value: #ty = #expr; value }))
            }
        });
        field_calls.push(quote! {
            .field(
                ::rowport::Field::new(
                    #field_name,
                    ::std::sync::Arc::new(::rowport::typed::TypedWidget::new::<#ty>(
                        #field_name,
                        #widget,
                        #required,
                    )),
                )
                .column_name(#column_name)
                .attribute(#attr)
                .readonly(#readonly)
                #default
            )
        });
        from_record.push(if readonly {
            quote! {
                #field_ident: ::rowport::typed::field_from_record::<#ty>(
                    record, #struct_name, #field_name, #attr, true,
                )?
            }
        } else {
            quote! {
                #field_ident: ::rowport::typed::strict_field_from_record::<#ty>(
                    record, #struct_name, #field_name, #attr,
                )?
            }
        });
        write_record.push(quote! {
            record.set(#attr, ::rowport::typed::FieldType::to_value(&self.#field_ident));
        });
        if !attributes.contains(&attr) {
            if required {
                required_arms.push(quote! {
                    #attr => !<#ty as ::rowport::typed::FieldType>::NULLABLE,
                });
            }
            attributes.push(attr);
        }
    }
    let import_id_call = (!import_id.is_empty()).then(|| {
        quote! { .import_id_fields([#(#import_id),*]) }
    });

    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics ::rowport::typed::Model for #ident #ty_generics #where_clause {
            const ATTRIBUTES: &'static [&'static str] = &[#(#attributes),*];

            fn is_required(attribute: &str) -> bool {
                match attribute {
                    #(#required_arms)*
                    _ => false,
                }
            }

            fn builder() -> ::rowport::ResourceBuilder {
                ::rowport::ResourceBuilder::new(#name)
                    .table(#table)
                    .primary_key(#primary_key)
                    #(#field_calls)*
                    #import_id_call
            }

            fn from_record(
                record: &::rowport::Record,
            ) -> ::core::result::Result<Self, ::rowport::typed::ModelError> {
                ::core::result::Result::Ok(Self {
                    #(#from_record),*
                })
            }

            fn write_record(&self, record: &mut ::rowport::Record) {
                #(#write_record)*
            }
        }
    })
}

fn parse_container(input: &DeriveInput) -> syn::Result<Container> {
    let mut container = Container {
        table: None,
        name: None,
        primary_key: None,
        import_id: None,
    };
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("rowport")) {
        attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(Ident::to_string)
                .unwrap_or_default();
            match key.as_str() {
                "table" => container.table = Some(non_empty(&meta.value()?.parse()?, "table")?),
                "name" => container.name = Some(non_empty(&meta.value()?.parse()?, "name")?),
                "primary_key" => {
                    container.primary_key =
                        Some(non_empty(&meta.value()?.parse()?, "primary_key")?)
                }
                "import_id" => {
                    let span = meta.path.get_ident().map(Ident::span).unwrap_or_else(Span::call_site);
                    let names = if meta.input.peek(syn::Token![=]) {
                        vec![meta.value()?.parse::<LitStr>()?]
                    } else if meta.input.peek(syn::token::Paren) {
                        let content;
                        syn::parenthesized!(content in meta.input);
                        syn::punctuated::Punctuated::<LitStr, syn::Token![,]>::parse_terminated(
                            &content,
                        )
                        .map_err(|e| {
                            syn::Error::new(
                                e.span(),
                                "write the import id fields as strings: import_id(\"isbn\", \"edition\")",
                            )
                        })?
                        .into_iter()
                        .collect()
                    } else {
                        return Err(meta.error(
                            "import_id on the struct needs the field: import_id = \"isbn\" (or mark each field with #[rowport(import_id)])",
                        ));
                    };
                    container.import_id = Some((names, span));
                }
                "column_name" | "attribute" | "widget" | "default" | "readonly" | "skip" => {
                    return Err(meta.error(format!(
                        "`{key}` is a field attribute: put #[rowport({key} ...)] on the field"
                    )))
                }
                _ => {
                    return Err(meta.error(format!(
                        "unknown rowport attribute `{}` on a struct; expected one of: {CONTAINER_KEYS}",
                        path_text(&meta.path)
                    )))
                }
            }
            Ok(())
        })?;
    }
    Ok(container)
}

fn parse_field(field: &syn::Field) -> syn::Result<FieldDecl> {
    let ident = field
        .ident
        .clone()
        .ok_or_else(|| syn::Error::new_spanned(field, "a rowport field needs a name"))?;
    let mut decl = FieldDecl {
        ident,
        ty: field.ty.clone(),
        column_name: None,
        attribute: None,
        widget: None,
        default: None,
        import_id: false,
        readonly: false,
        skip: false,
    };
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("rowport")) {
        attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(Ident::to_string)
                .unwrap_or_default();
            match key.as_str() {
                "column_name" => {
                    decl.column_name = Some(non_empty(&meta.value()?.parse()?, "column_name")?)
                }
                "attribute" => {
                    decl.attribute = Some(non_empty(&meta.value()?.parse()?, "attribute")?)
                }
                "widget" => decl.widget = Some(meta.value()?.parse()?),
                "default" => decl.default = Some(meta.value()?.parse()?),
                "import_id" => decl.import_id = flag(&meta, "import_id")?,
                "readonly" => decl.readonly = flag(&meta, "readonly")?,
                "skip" => decl.skip = flag(&meta, "skip")?,
                "table" | "name" | "primary_key" => {
                    return Err(meta.error(format!(
                    "`{key}` is a struct attribute: put #[rowport({key} = \"...\")] on the struct"
                )))
                }
                _ => {
                    return Err(meta.error(format!(
                        "unknown rowport attribute `{}`; expected one of: {FIELD_KEYS}",
                        path_text(&meta.path)
                    )))
                }
            }
            Ok(())
        })?;
    }
    if decl.skip {
        let other = [
            (decl.import_id, "import_id"),
            (decl.readonly, "readonly"),
            (decl.column_name.is_some(), "column_name"),
            (decl.attribute.is_some(), "attribute"),
            (decl.widget.is_some(), "widget"),
            (decl.default.is_some(), "default"),
        ]
        .into_iter()
        .find(|(set, _)| *set);
        if let Some((_, key)) = other {
            return Err(syn::Error::new_spanned(
                &decl.ident,
                format!("a skipped field is not a column, so `{key}` means nothing here: remove `skip` or `{key}`"),
            ));
        }
    }
    if decl.import_id && decl.readonly {
        return Err(syn::Error::new_spanned(
            &decl.ident,
            "an import id field is read from the file, so it cannot be `readonly`",
        ));
    }
    Ok(decl)
}

/// A flag takes no value: `readonly`, not `readonly = true`.
fn flag(meta: &syn::meta::ParseNestedMeta<'_>, key: &str) -> syn::Result<bool> {
    if meta.input.peek(syn::Token![=]) || meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!("`{key}` takes no value: write #[rowport({key})]")));
    }
    Ok(true)
}

fn non_empty(lit: &LitStr, key: &str) -> syn::Result<String> {
    let value = lit.value();
    if value.trim().is_empty() {
        return Err(syn::Error::new(
            lit.span(),
            format!("`{key}` cannot be empty"),
        ));
    }
    Ok(value)
}

fn path_text(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// `BookAuthor` → `book_author`, `HTTPLog` → `http_log`.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                None => false,
                Some('_') => false,
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(|n| n.is_lowercase()),
                Some(_) => false,
            };
            if boundary {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests;
