// The page's words in each language it speaks, and which one this reader gets: the first of
// the browser's preferred languages that the page has, English when it has none of them.
// Messages the API sends (error descriptions) are shown as the API wrote them.
"use strict";

const MESSAGES = {
  en: {
    tagline: "A haiku SNS on API Gateway, Lambda, DynamoDB and S3.",
    endpoint: "API endpoint URL",
    first: "First line (5)",
    second: "Second line (7)",
    third: "Third line (5)",
    username: "Poet",
    defaultUsername: "Anonymous",
    post: "Post",
    refresh: "Refresh",
    like: "Like",
    count: (n) => (n === 1 ? "1 haiku" : n + " haiku"),
    posted: "Posted.",
    loadFailed: "Could not load the haiku: ",
    likeFailed: "Could not like it: ",
    postFailed: "Could not post: ",
  },
  ja: {
    tagline: "API Gateway・Lambda・DynamoDB・S3 でつくる俳句の SNS",
    endpoint: "API エンドポイントの URL",
    first: "上の句（五）",
    second: "中の句（七）",
    third: "下の句（五）",
    username: "詠み人",
    defaultUsername: "詠み人知らず",
    post: "投稿する",
    refresh: "再読み込み",
    like: "いいね",
    count: (n) => n + "句",
    posted: "投稿しました。",
    loadFailed: "俳句を読み込めませんでした: ",
    likeFailed: "いいねできませんでした: ",
    postFailed: "投稿できませんでした: ",
  },
};

// The reader's locale as the browser names it ("ja-JP", "en-GB"): its language picks the words,
// the whole of it the way dates are written.
function readerLocale() {
  const preferred = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""];
  return preferred.find((tag) => languageOf(tag) in MESSAGES) || "en";
}

function languageOf(tag) {
  return tag.toLowerCase().split("-")[0];
}
