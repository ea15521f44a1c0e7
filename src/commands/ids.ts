import { customAlphabet } from 'nanoid';

/** Ids are made by the application, never the database: 21 URL-safe lowercase characters. */
export const newId = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 21);
