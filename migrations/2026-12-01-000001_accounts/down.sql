DROP TABLE used_refresh_tokens;
DROP TABLE users;
