DROP TABLE chat_messages;
DROP TABLE chat_attachments;
DROP TABLE chat_participants;
DROP TABLE chat_rooms;
