// Kazakh: each Russian source text of the pages (see i18n.js) and its Kazakh translation.
export default {};
